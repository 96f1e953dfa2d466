"""Settings come from the environment under the names the Bicep outputs use (and azd writes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from snap_inference.settings import REQUIRED, SettingsError, load_settings


def test_reads_every_required_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in REQUIRED:
        monkeypatch.setenv(name, f"value-of-{name}")
    settings = load_settings()
    for name in REQUIRED:
        assert getattr(settings, name.lower()) == f"value-of-{name}"


def test_missing_setting_names_every_variable_and_the_fix() -> None:
    with pytest.raises(SettingsError) as err:
        load_settings()
    for name in REQUIRED:
        assert name in str(err.value)
    assert "azd env get-values" in str(err.value)


def test_empty_setting_counts_as_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in REQUIRED:
        monkeypatch.setenv(name, "x")
    monkeypatch.setenv(REQUIRED[0], "  ")
    with pytest.raises(SettingsError, match=REQUIRED[0]):
        load_settings()


def test_azd_env_file_is_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env_dir = tmp_path / ".azure" / "dev"
    env_dir.mkdir(parents=True)
    env_dir.joinpath(".env").write_text("".join(f'{n}="from-azd"\n' for n in REQUIRED))
    monkeypatch.setenv("AZURE_ENV_NAME", "dev")
    settings = load_settings()
    assert all(getattr(settings, n.lower()) == "from-azd" for n in REQUIRED)


def test_azd_default_environment_is_read_without_azure_env_name(tmp_path: Path) -> None:
    env_dir = tmp_path / ".azure" / "staging"
    env_dir.mkdir(parents=True)
    env_dir.joinpath(".env").write_text("".join(f'{n}="from-staging"\n' for n in REQUIRED))
    (tmp_path / ".azure" / "config.json").write_text('{"version": 1, "defaultEnvironment": "staging"}')
    settings = load_settings()
    assert all(getattr(settings, n.lower()) == "from-staging" for n in REQUIRED)


def test_dotenv_then_environment_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("".join(f"{n}=from-dotenv\n" for n in REQUIRED) + "APP_MAX_RETRIES=7\n")
    monkeypatch.setenv(REQUIRED[0], "from-environment")
    settings = load_settings()
    assert getattr(settings, REQUIRED[0].lower()) == "from-environment"
    assert getattr(settings, REQUIRED[-1].lower()) == "from-dotenv"
    assert settings.app_max_retries == 7


def test_app_settings_have_working_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in REQUIRED:
        monkeypatch.setenv(name, "x")
    settings = load_settings()
    assert settings.app_instructions == 'You are a helpful assistant. Use the tools when they help; keep answers short.'
    assert settings.app_state_path == '.data/state.sqlite3'
    assert settings.app_max_retries == 3
    assert settings.app_timeout_seconds == 60.0
    assert settings.app_context_tokens == 8000


def test_invalid_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in REQUIRED:
        monkeypatch.setenv(name, "x")
    monkeypatch.setenv("APP_MAX_RETRIES", "many")
    with pytest.raises(SettingsError, match="APP_MAX_RETRIES"):
        load_settings()
