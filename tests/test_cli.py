"""The CLI as users type it (README and issue examples): exit codes, one-line errors, JSON on stdout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scaffolder.cli import app

runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_readme_example_generates_a_repo(tmp_path: Path) -> None:
    code, _, err = run("new", "demo", "--runtime", "responses", "--location", "eastus2", "--no-input",
                       "-o", str(tmp_path))
    assert code == 0, err
    assert (tmp_path / "demo" / "infra" / "main.bicep").is_file()
    # next steps follow the tools found (tests/test_credentials.py): azd up with azd, else provision + azd deploy
    assert "create" in err and (("next: cd" in err and "azd up" in err) or "next: scaffolder provision" in err)


def test_issue_example_inference_two_models(tmp_path: Path) -> None:
    code, out, err = run("new", "chatbot", "--runtime", "inference", "--model", "Mistral-small-2503",
                         "--model", "gpt-5.4-mini", "--no-input", "--json", "-o", str(tmp_path))
    assert code == 0, err
    doc = json.loads(out)
    assert [m["model"] for m in doc["spec"]["models"]] == ["Mistral-small-2503", "gpt-5.4-mini"]
    assert {f["action"] for f in doc["files"]} == {"create"}
    assert doc["target"].endswith("chatbot")


def test_dry_run_json_writes_nothing(tmp_path: Path) -> None:
    code, out, _ = run("new", "demo", "-r", "agents", "--dry-run", "--json", "-o", str(tmp_path))
    assert code == 0
    assert json.loads(out)["dry_run"] is True
    assert list(tmp_path.iterdir()) == []


def test_no_input_lists_every_missing_value() -> None:
    code, out, err = run("new", "--no-input")
    assert code == 2
    assert out == ""
    assert "name (NAME argument), runtime (--runtime)" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["new", "demo", "-r", "responses", "-m", "Mistral-Large-2411"], 2,
         "error: Mistral-Large-2411 is not served by the Responses API"),
        (["new", "demo", "-r", "inference", "-m", "gpt4.1"], 2, "did you mean gpt-4.1"),
        (["new", "Demo", "-r", "agents"], 2, "must be lowercase"),
        (["new", "demo", "-r", "agents", "-l", "westeurope"], 2, "is not offered in westeurope"),
        (["new", "demo", "-r", "inference", "--network", "ip-restricted"], 2, "needs at least one --allow-ip"),
        (["new", "demo", "-r", "agents", "--network", "ip-restricted", "--allow-ip", "20.30.40.0/24"], 2,
         "error: --network ip-restricted with --hosting container-apps: the Foundry firewall would block"),
    ],
)
def test_user_mistakes_are_one_line_and_non_zero(tmp_path: Path, args: list[str], code: int, message: str) -> None:
    got, _out, err = run(*args, "--no-input", "-o", str(tmp_path))
    assert got == code
    assert message in err
    assert err.count("\n") <= 2 and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_existing_target_exit_code_and_hint(tmp_path: Path) -> None:
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "mine.txt").write_text("x")
    code, _, err = run("new", "demo", "-r", "responses", "--no-input", "-o", str(tmp_path))
    assert code == 5
    assert "--force" in err


def test_debug_shows_traceback() -> None:
    code, _, err = run("--debug", "new", "--no-input")
    assert code == 2
    assert "Traceback" in err


def test_models_json_by_runtime() -> None:
    code, out, _ = run("models", "--runtime", "responses", "--json")
    assert code == 0
    rows = json.loads(out)
    assert rows and all(r["format"] == "OpenAI" for r in rows)
    code, out, _ = run("models", "--json")
    names = {r["name"] for r in json.loads(out)}
    assert {"Mistral-Large-2411", "gpt-4.1-mini", "DeepSeek-R1", "Phi-4"} <= names


def test_models_table() -> None:
    code, out, _ = run("models", "-r", "inference")
    assert code == 0
    assert "Mistral-small-2503" in out and "Mistral AI" not in out  # the narrow table has no format column
    code, out, _ = run("models", "-r", "inference", "--wide")
    assert code == 0
    assert "Mistral-small-2503" in out and "Mistral AI" in out


def test_version() -> None:
    code, out, _ = run("--version")
    assert code == 0 and out.startswith("foundry-scaffolder ")


def test_help_imports_no_heavy_modules() -> None:
    probe = (
        "import sys\n"
        "from scaffolder.cli import app\n"
        "from typer.testing import CliRunner\n"
        "r = CliRunner().invoke(app, ['--help'])\n"
        "assert r.exit_code == 0, r.output\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in {'azure', 'openai', 'checkov', 'cookiecutter'})\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    assert out.stdout.strip() == ""


def test_new_imports_no_azure_sdk(tmp_path: Path) -> None:
    probe = (
        "import sys\n"
        "from scaffolder.cli import app\n"
        "from typer.testing import CliRunner\n"
        f"r = CliRunner().invoke(app, ['new', 'demo', '-r', 'agents', '--no-input', '-o', {str(tmp_path)!r}])\n"
        "assert r.exit_code == 0, r.output\n"
        "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in {'azure', 'openai', 'checkov'})))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_retired_model_is_refused_with_date_and_current_replacement(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1795910400")  # 2026-11-29
    code, out, err = run("new", "demo", "-r", "responses", "-m", "gpt-4.1-mini", "--no-input", "--json",
                         "-o", str(tmp_path))
    assert code == 2 and out == ""
    first = err.splitlines()[0]
    # The source names no replacement for gpt-4.1-mini: the catalog's suggestion says so.
    assert first == ("error: gpt-4.1-mini 2025-04-14 retired on 2026-10-14; suggested replacement (not from the "
                     "source): gpt-5.4-mini")
    assert not (tmp_path / "demo").exists()


def test_deprecated_model_warns_and_names_a_current_replacement(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1795910400")  # 2026-11-29: gpt-5.1 deprecated since 2026-11-13
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # no cached region list
    code, out, err = run("new", "demo", "-r", "responses", "-m", "gpt-5.1", "--no-input", "--json",
                         "-o", str(tmp_path))
    assert code == 0, err
    doc = json.loads(out)
    (warning,) = doc["warnings"]
    assert "deprecated since 2026-11-13" in warning
    assert "suggested replacement (not from the source): gpt-5.4" in warning
    assert doc["notes"] == ["model lifecycle from the shipped catalog (sources read 2026-11-29)",
                            "azd's location prompt will not check model quota: no fresh model list for eastus2 is "
                            "cached (`scaffolder models --live --location eastus2 --refresh`, then `scaffolder "
                            "update`, adds it)"]


def test_models_json_carries_status() -> None:
    _, out, _ = run("models", "--json")
    status = {r["name"]: r["status"] for r in json.loads(out)}
    assert status["gpt-4.1-mini"] == "retired" and status["gpt-5.4-mini"] == "current"


@pytest.mark.parametrize("content", [b"\xff\xfe\x00", b"spec: [unclosed", b"- a list\n"])
def test_damaged_answers_file_is_one_line(tmp_path: Path, content: bytes) -> None:
    (tmp_path / ".scaffolder.yml").write_bytes(content)
    code, _, err = run("check", str(tmp_path), "--offline")
    assert code == 2 and err.startswith("error: ") and "Traceback" not in err
    assert err.count("\n") <= 2


def test_output_under_a_file_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    code, _, err = run("new", "demo", "-r", "responses", "--no-input", "-o", str(tmp_path / "afile"))
    assert code == 1 and "cannot create" in err and "Traceback" not in err


def test_every_cli_choice_mirrors_its_source_of_truth() -> None:
    # typer needs Enum classes for choices (it has no Literal support), so the CLI keeps small StrEnums; their
    # values must be exactly the spec's/catalog's, or a value added in one place would be refused (or invented) in
    # the other.
    from typing import get_args

    from scaffolder import cli, spec
    from scaffolder.catalog import Runtime
    from scaffolder.provisioning.arm import CLOUDS

    pairs = {
        cli.RuntimeChoice: [r.value for r in Runtime],
        cli.NetworkChoice: list(get_args(spec.NetworkPosture)),
        cli.AgentSetupChoice: list(get_args(spec.AgentSetup)),
        cli.HostingChoice: list(get_args(spec.Hosting)),
        cli.FrameworkChoice: list(get_args(spec.Framework)),
        cli.PrincipalChoice: list(get_args(spec.PrincipalType)),
        cli.CloudChoice: list(CLOUDS),
    }
    for choice, source in pairs.items():
        assert [c.value for c in choice] == source, choice.__name__
