"""Credentials and the world outside (issue 9, point 7): one line naming the credential, hints only for what is
undone, next steps matching the tools found, and an offline `provision --preview`."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from scaffolder._new import new
from scaffolder.cli import app
from tests.helpers import make_spec

runner = CliRunner()

UNAVAILABLE = """DefaultAzureCredential failed to retrieve a token from the included credentials.
Attempted credentials:
\tEnvironmentCredential: EnvironmentCredential authentication unavailable. Environment variables are not \
fully configured.
Visit https://aka.ms/azsdk/python/identity/environmentcredential/troubleshoot to troubleshoot this issue.
\tManagedIdentityCredential: ManagedIdentityCredential authentication unavailable.
\tAzureCliCredential: Azure CLI not found on path
\tAzureDeveloperCliCredential: Azure Developer CLI could not be found. Please visit https://aka.ms/azure-dev.
To mitigate this issue, please refer to the troubleshooting guidelines here at https://aka.ms/azsdk/python/identity/defaultazurecredential/troubleshoot."""

CLI_NOT_LOGGED_IN = UNAVAILABLE.replace("Azure CLI not found on path", "Please run 'az login' to set up an account")


def credential_error(text: str, **kwargs: Any) -> Any:
    from scaffolder.provisioning.credentials import credential_error as explain

    return explain(text, **kwargs)


def test_the_credential_that_failed_is_named_with_its_reason_in_one_line() -> None:
    error = credential_error(CLI_NOT_LOGGED_IN, environ={}, which=lambda tool: "/usr/bin/az" if tool == "az" else None)
    assert error.message == ("no Azure credential available: AzureCliCredential was tried and failed: "
                             "Please run 'az login' to set up an account")
    assert "\n" not in error.message and error.hint == "run `az login`"
    assert error.detail is not None and "EnvironmentCredential" in error.detail and error.exit_code == 8


def test_hints_only_for_what_the_user_has_not_done() -> None:
    nothing = credential_error(UNAVAILABLE, environ={}, which=lambda tool: None)
    assert "AzureCliCredential" in nothing.message and "\n" not in nothing.message
    assert nothing.hint is not None
    assert "install the Azure CLI" in nothing.hint and "AZURE_CLIENT_SECRET" in nothing.hint
    half_sp = credential_error(UNAVAILABLE, environ={"AZURE_CLIENT_ID": "x", "AZURE_TENANT_ID": "t"},
                               which=lambda tool: None)
    assert half_sp.hint is not None
    assert "AZURE_CLIENT_ID, AZURE_TENANT_ID set: also set AZURE_CLIENT_SECRET" in half_sp.hint
    assert "or set AZURE_CLIENT_ID" not in half_sp.hint, "do not ask for what is already set"
    has_az = credential_error(UNAVAILABLE.replace("Azure CLI not found on path", "Azure CLI not found on path"),
                              environ={}, which=lambda tool: "/bin/az" if tool == "az" else None)
    assert has_az.hint == "run `az login`", "az is installed: no advice to install it"


def test_debug_shows_every_credential_tried(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from scaffolder.provisioning import api

    def refuse(credential: object, scopes: list[str]) -> str:
        from azure.core.exceptions import ClientAuthenticationError

        raise ClientAuthenticationError(CLI_NOT_LOGGED_IN)

    monkeypatch.setattr(api, "token_object_id", refuse)
    new(make_spec("responses"), tmp_path / "repo")
    args = ["provision", str(tmp_path / "repo"), "-s", "sub", "-g", "rg", "--yes"]
    plain = runner.invoke(app, args)
    assert plain.exit_code == 8 and len(plain.stderr.strip().splitlines()) == 2
    assert "AzureCliCredential was tried and failed" in plain.stderr
    debug = runner.invoke(app, [*args, "--debug"])
    assert "ManagedIdentityCredential: ManagedIdentityCredential authentication unavailable" in debug.stderr


def test_next_steps_match_the_tools_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from scaffolder.cli import next_steps

    monkeypatch.setenv("PATH", str(tmp_path))
    assert next_steps(tmp_path / "demo")[0].startswith(f"scaffolder provision {tmp_path / 'demo'} -s ")
    # provision creates resources only: a hosted repo is told that azd ships the image
    assert len(next_steps(tmp_path / "demo")) == 1
    assert "azd deploy" in next_steps(tmp_path / "demo", hosted=True)[1]
    azd = tmp_path / "azd"
    azd.write_text("#!/bin/sh\nexit 0\n")
    azd.chmod(azd.stat().st_mode | stat.S_IEXEC)
    assert next_steps(tmp_path / "demo") == [f"cd {tmp_path / 'demo'} && azd up"]
    assert "azd deploy" in next_steps(tmp_path / "demo", hosted=True)[1]
    done = runner.invoke(app, ["new", "demo", "-r", "responses", "-o", str(tmp_path), "--no-input", "--no-git"])
    assert f"next: cd {tmp_path / 'demo'} && azd up" in done.stderr


def test_provision_preview_without_a_credential_shows_the_plan_offline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scaffolder.provisioning import api

    def refuse(credential: object, scopes: list[str]) -> str:
        from azure.core.exceptions import ClientAuthenticationError

        raise ClientAuthenticationError(UNAVAILABLE)

    monkeypatch.setattr(api, "token_object_id", refuse)
    new(make_spec("responses"), tmp_path / "repo")
    args = ["provision", str(tmp_path / "repo"), "-s", "00000000-0000-0000-0000-000000000000", "-g", "rg-demo",
            "--preview"]
    shown = runner.invoke(app, args)
    assert shown.exit_code == 0, shown.stderr
    assert "not compared with Azure" in shown.stderr and "nothing was read or written in Azure" in shown.stderr
    assert "Microsoft.CognitiveServices/accounts@" in shown.stderr
    # names computed from values known only after deployment read as the Bicep call, not a Python repr
    assert "Lazy(" not in shown.stderr and "Ref(" not in shown.stderr
    assert "guid('/subscriptions/00000000-0000-0000-0000-000000000000/" in shown.stderr
    doc = json.loads(runner.invoke(app, [*args, "--json"]).stdout)
    assert doc["compared_with_azure"] is False
    types = [r["type"] for r in doc["resources"]]
    assert types[0] == "Microsoft.Resources/resourceGroups"
    assert types.index("Microsoft.CognitiveServices/accounts") < types.index(
        "Microsoft.CognitiveServices/accounts/deployments")
    account = next(r for r in doc["resources"] if r["type"] == "Microsoft.CognitiveServices/accounts")
    assert account["body"]["properties"]["disableLocalAuth"] is True
    applied = runner.invoke(app, [*args[:-1], "--yes"])
    assert applied.exit_code == 8, "without --preview a missing credential still stops"
