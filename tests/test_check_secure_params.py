"""A literal value for a @secure() parameter fails `check`, is never printed, and `--accept` never records it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scaffolder._new import new
from scaffolder.checks import ACCEPTED_FILE, check
from scaffolder.cli import app
from tests.helpers import make_spec

runner = CliRunner()
MCP = "mcp,url=https://mcp.example.com/mcp,label=docs"
TOKEN = "mcp_live_4f9c2a1b8e7d6c5b4a3f2e1d0c9b8a7f"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("secure") / "repo"
    new(make_spec("responses", name="secure-app", tools=[MCP]), target, git=False)
    return target


def _copy(generated: Path, tmp_path: Path, value: str) -> Path:
    import shutil

    repo = tmp_path / "repo"
    shutil.copytree(generated, repo)
    params = repo / "infra" / "main.parameters.json"
    doc = json.loads(params.read_text())
    doc["parameters"]["mcpAuthToken"]["value"] = value
    params.write_text(json.dumps(doc, indent=2) + "\n")
    return repo


@pytest.mark.parametrize("value", [TOKEN, "${APP_MCP_AUTH_TOKEN=" + TOKEN + "}", "Bearer " + TOKEN])
def test_a_literal_secure_value_fails_check_and_is_never_printed(
    generated: Path, tmp_path: Path, value: str
) -> None:
    repo = _copy(generated, tmp_path, value)
    result = check(repo, offline_only=True)
    errors = [f for f in result.errors if f.rule == "policy/secure-parameter-literal"]
    assert len(errors) == 1 and errors[0].file == "infra/main.bicep"
    assert "'mcpAuthToken'" in errors[0].message and "${NAME}" in errors[0].message
    drift = [f for f in result.findings if f.file == "infra/main.parameters.json"]
    assert drift and all(f.digest == "" for f in drift)  # never acceptable
    assert any("***" in f.found for f in drift)
    for args in (["check", str(repo), "--offline"], ["check", str(repo), "--offline", "--json"],
                 ["check", str(repo), "--offline", "--strict"]):
        out = runner.invoke(app, args)
        assert out.exit_code == 1
        assert TOKEN not in out.stdout + out.stderr
        assert TOKEN[:20] not in out.stdout + out.stderr and TOKEN[-12:] not in out.stdout + out.stderr


def test_accept_never_records_a_secure_literal(generated: Path, tmp_path: Path) -> None:
    repo = _copy(generated, tmp_path, TOKEN)
    out = runner.invoke(app, ["check", str(repo), "--offline", "--accept"])
    assert TOKEN not in out.stdout + out.stderr
    accepted = repo / ACCEPTED_FILE
    assert not accepted.exists() or TOKEN not in accepted.read_text()
    again = check(repo, offline_only=True, strict=True)
    assert not again.ok
    assert [f for f in again.findings if f.file == "infra/main.parameters.json" and f.rule == "drift/changed"]


@pytest.mark.parametrize("value", ["${APP_MCP_AUTH_TOKEN}", "${OTHER_NAME}", ""])
def test_a_reference_or_empty_value_is_no_error(generated: Path, tmp_path: Path, value: str) -> None:
    repo = _copy(generated, tmp_path, value)
    result = check(repo, offline_only=True)
    assert [f for f in result.errors if f.rule == "policy/secure-parameter-literal"] == []
    if value == "${APP_MCP_AUTH_TOKEN}":
        assert result.ok and result.findings == ()
