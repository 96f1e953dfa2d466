"""Provision a repo with deployed tool settings against the ARM emulator: values from the azd env, token secret."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from emulator import ArmEmulator
from helpers import make_spec
from provkit import ENV, offer_models, provision, write_repo

from scaffolder._render_provision import render_provision

APP = "Microsoft.App/containerApps"
TOKEN = "tok-5d1a-provisioned-never-printed"


@pytest.fixture
def repo(tmp_path: Path, arm: ArmEmulator) -> Path:
    spec = make_spec("responses", tools=["file-search", "mcp,url=https://mcp.example.com/mcp,label=docs"])
    offer_models(arm, spec)
    repo = write_repo(tmp_path / "repo", spec)
    env_dir = repo / ".azure" / ENV
    env_dir.mkdir(parents=True, exist_ok=True)
    # what `azd env set` writes after `files add` and for the MCP server's token
    (env_dir / ".env").write_text(f'APP_FILE_SEARCH_VECTOR_STORE_IDS="vs_abc"\nAPP_MCP_AUTH_TOKEN="{TOKEN}"\n', "utf-8")
    return repo


def test_provision_passes_tool_settings_and_keeps_the_token_secret(
    arm: ArmEmulator, repo: Path, kw: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    result = provision(repo, **kw)
    assert result.applied and not arm.validation_errors
    (app,) = arm.of_type(APP)
    env = {e["name"]: e for e in app["properties"]["template"]["containers"][0]["env"]}
    assert env["APP_FILE_SEARCH_VECTOR_STORE_IDS"] == {"name": "APP_FILE_SEARCH_VECTOR_STORE_IDS", "value": "vs_abc"}
    assert env["APP_MCP_API_APPROVAL"] == {"name": "APP_MCP_API_APPROVAL", "value": "deny"}  # the app's default
    assert env["APP_MCP_AUTH_TOKEN"] == {"name": "APP_MCP_AUTH_TOKEN", "secretRef": "mcp-auth-token"}
    assert [s["name"] for s in app["properties"]["configuration"]["secrets"]] == ["mcp-auth-token"]
    render_provision(result)
    printed = capsys.readouterr()
    assert TOKEN not in printed.out + printed.err
    # the JSON form of the changes (`provision --json`); Change.state is the emulator's GET echo, never printed
    assert TOKEN not in repr(result.outputs) and TOKEN not in repr([c.as_dict() for c in result.changes])
    assert TOKEN not in (repo / ".azure" / ENV / ".env").read_text().replace(f'APP_MCP_AUTH_TOKEN="{TOKEN}"', "")


def test_rerun_with_tool_settings_writes_nothing(arm: ArmEmulator, repo: Path, kw: dict[str, Any]) -> None:
    provision(repo, **kw)
    arm.reset_log()
    second = provision(repo, **kw)
    assert {c.action for c in second.changes} == {"unchanged"}, [
        (c.key, c.differences) for c in second.changes if c.action != "unchanged"]
    assert TOKEN not in repr([c.as_dict() for c in second.changes])
