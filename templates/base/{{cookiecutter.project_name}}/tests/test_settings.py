"""Settings come from the environment under the names the Bicep outputs use."""

from __future__ import annotations

import pytest

from {{ cookiecutter.package }}.__main__ import main
from {{ cookiecutter.package }}.settings import SettingsError, load_settings

REQUIRED = [{% for var in cookiecutter.env_vars if var.required %}"{{ var.name }}", {% endfor %}]


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)
    for name in REQUIRED + ["AZURE_CLIENT_ID", "AZURE_ENV_NAME"]:
        monkeypatch.delenv(name, raising=False)


def test_reads_every_required_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in REQUIRED:
        monkeypatch.setenv(name, f"value-of-{name}")
    settings = load_settings()
    for name in REQUIRED:
        assert getattr(settings, name.lower()) == f"value-of-{name}"


def test_missing_setting_names_the_variable() -> None:
    with pytest.raises(SettingsError) as err:
        load_settings()
    for name in REQUIRED:
        assert name in str(err.value)
    assert "azd env get-values" in str(err.value)


def test_azd_env_file_is_read(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    env_dir = tmp_path / ".azure" / "dev"
    env_dir.mkdir(parents=True)
    env_dir.joinpath(".env").write_text("".join(f'{n}="from-azd"\n' for n in REQUIRED))
    monkeypatch.setenv("AZURE_ENV_NAME", "dev")
    settings = load_settings()
    assert all(getattr(settings, n.lower()) == "from-azd" for n in REQUIRED)


def test_cli_reports_missing_settings(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["settings"]) == 1
    assert REQUIRED[0] in capsys.readouterr().err
