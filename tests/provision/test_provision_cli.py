"""`scaffolder provision|preflight|destroy` against the emulator: thin commands, JSON output, exit codes."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from scaffolder.cli import app
from scaffolder.provisioning import api
from tests.emulator import ArmEmulator, FakeCredential
from tests.provision.provkit import ENV, RG, provision


@pytest.fixture
def cli_env(arm: ArmEmulator, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    # The endpoint and CA bundle come from the environment, as they would for a private cloud.
    monkeypatch.setenv("SCAFFOLDER_ARM_ENDPOINT", arm.url)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", arm.ca_path)
    monkeypatch.setenv("AZURE_SUBSCRIPTION_ID", arm.subscription_id)
    monkeypatch.setenv("SCAFFOLDER_POLL_INTERVAL", "0")
    built: list[tuple[str, str | None]] = []

    def credential(authority: str, tenant_id: str | None) -> Any:
        built.append((authority, tenant_id))
        return FakeCredential()

    monkeypatch.setattr(api, "default_credential", credential)
    return ["--resource-group", RG, "--env", ENV]


def _run(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def test_provision_json_then_idempotent(arm: ArmEmulator, repo: Path, cli_env: list[str]) -> None:
    first = _run("provision", str(repo), *cli_env, "--yes", "--json")
    assert first.exit_code == 0, first.output
    doc = json.loads(first.stdout)
    assert doc["applied"] and {c["action"] for c in doc["changes"]} == {"create"}
    assert Path(doc["env_file"]) == repo / ".azure" / ENV / ".env"
    assert "eyJ" not in first.output and "Bearer" not in first.output
    arm.reset_log()
    again = _run("provision", str(repo), *cli_env, "--json")  # nothing to change: no confirmation needed
    assert again.exit_code == 0, again.output
    assert {c["action"] for c in json.loads(again.stdout)["changes"]} == {"unchanged"}
    assert arm.writes() == 0


def test_provision_plain_output_and_preview(arm: ArmEmulator, repo: Path, cli_env: list[str]) -> None:
    preview = _run("provision", str(repo), *cli_env, "--preview")
    assert preview.exit_code == 0, preview.output
    assert "to create" in preview.stderr and "preview only" in preview.stderr
    assert arm.writes() == 0
    applied = _run("provision", str(repo), *cli_env, "--yes")
    assert applied.exit_code == 0, applied.output
    assert "created" in applied.stderr and "outputs written to" in applied.stderr


def test_provision_without_terminal_or_yes_refuses(arm: ArmEmulator, repo: Path, cli_env: list[str]) -> None:
    result = _run("provision", str(repo), *cli_env)
    assert result.exit_code == 6
    assert "pass --yes" in result.stderr and "Traceback" not in result.output
    assert arm.writes() == 0


def test_preflight_exit_code_and_json(arm: ArmEmulator, repo: Path, cli_env: list[str]) -> None:
    ok = _run("preflight", str(repo), *cli_env, "--json")
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["ok"] is True
    bad = _run("preflight", str(repo), *cli_env, "--location", "westeurope")
    assert bad.exit_code == 7, bad.stderr
    assert "FAIL" in bad.stderr and "westeurope" in bad.stderr


def test_destroy_with_purge(arm: ArmEmulator, repo: Path, cli_env: list[str]) -> None:
    assert _run("provision", str(repo), *cli_env, "--yes").exit_code == 0
    result = _run("destroy", str(repo), *cli_env, "--purge", "--yes", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["purged"] and doc["resource_group_deleted"]
    assert not arm.resources and not arm.deleted_accounts


def test_missing_subscription_is_one_line(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = _run("provision", str(repo), "--resource-group", RG)
    assert result.exit_code == 2  # bad input (issue 9): a required value is missing
    assert "missing --subscription/-s" in result.stderr and "AZURE_SUBSCRIPTION_ID" in result.stderr


def test_tenant_and_cloud_reach_the_credential(
    arm: ArmEmulator, repo: Path, cli_env: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[str, str | None]] = []

    def credential(authority: str, tenant_id: str | None) -> Any:
        seen.append((authority, tenant_id))
        return FakeCredential()

    monkeypatch.setattr(api, "default_credential", credential)
    result = _run(
        "preflight", str(repo), *cli_env, "--cloud", "AzureUSGovernment", "--tenant", "contoso.onmicrosoft.com"
    )
    assert result.exit_code == 0, result.output
    assert seen == [("login.microsoftonline.us", "contoso.onmicrosoft.com")]


def test_importing_the_cli_loads_no_azure_sdk() -> None:
    import subprocess
    import sys

    code = "import sys, scaffolder.cli; print(sorted(m for m in sys.modules if m.startswith('azure')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_ci_principal_from_the_environment(
    arm: ArmEmulator, repo: Path, cli_env: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ci = "99999999-0000-4000-8000-00000000c1c1"
    arm.directory.add(ci)
    monkeypatch.setenv("AZURE_PRINCIPAL_ID", ci)
    monkeypatch.setenv("AZURE_PRINCIPAL_TYPE", "ServicePrincipal")
    assert _run("provision", str(repo), *cli_env, "--yes").exit_code == 0
    mine = [r for r in arm.of_type("Microsoft.Authorization/roleAssignments") if r["properties"]["principalId"] == ci]
    assert mine and {r["properties"]["principalType"] for r in mine} == {"ServicePrincipal"}


def test_rich_progress_on_a_terminal(arm: ArmEmulator, repo: Path, kw: dict[str, Any]) -> None:
    from scaffolder._render_provision import ProgressPrinter

    seen: list[int] = []
    with ProgressPrinter(lambda changes: seen.append(len(changes)) is None, tty=True) as ui:
        result = provision(repo, confirm=ui.confirm, on_event=ui, **kw)
    assert result.applied and seen and ui.total == len(result.changes)
    assert ui._progress is not None and ui._progress.finished


def test_no_credential_is_two_lines_and_exit_8(repo: Path, cli_env: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from azure.identity import DefaultAzureCredential

    monkeypatch.setattr(
        api,
        "default_credential",
        lambda authority, tenant: DefaultAzureCredential(
            exclude_managed_identity_credential=True,
            exclude_cli_credential=True,
            exclude_developer_cli_credential=True,
            exclude_powershell_credential=True,
            exclude_visual_studio_code_credential=True,
            exclude_shared_token_cache_credential=True,
            exclude_interactive_browser_credential=True,
            exclude_workload_identity_credential=True,
        ),
    )
    result = _run("provision", str(repo), *cli_env, "--yes")
    assert result.exit_code == 8
    lines = result.stderr.strip().splitlines()
    assert (
        len(lines) == 2 and lines[0].startswith("error: no Azure credential available") and lines[1].startswith("hint:")
    )


def test_provision_enforces_the_standards_before_any_request(
    arm: ArmEmulator, repo: Path, cli_env: list[str], tmp_path: Path
) -> None:
    standards = tmp_path / "standards.yml"
    standards.write_text("name: team\nregions:\n  allowed: [swedencentral]\n")
    arm.reset_log()
    refused = _run("provision", str(repo), *cli_env, "--yes", "--standards", str(standards))
    assert refused.exit_code == 3
    assert "is not allowed by the standards" in refused.stderr and "[team: regions.allowed]" in refused.stderr
    assert arm.writes() == 0
    standards.write_text("name: team\nregions:\n  allowed: [swedencentral, eastus2]\n")
    assert _run("provision", str(repo), *cli_env, "--yes", "--standards", str(standards)).exit_code == 0


@pytest.mark.parametrize("env", ["../../evil", "bad env", "-x"])
def test_environment_name_is_validated_before_anything(arm: ArmEmulator, repo: Path, cli_env: list[str],
                                                       env: str) -> None:
    result = _run("provision", str(repo), "--resource-group", RG, "--env", env, "--yes")
    assert result.exit_code == 2 and "environment name" in result.stderr
    assert arm.writes() == 0 and not (repo.parent / "evil").exists()


def test_region_spelled_like_the_portal_is_normalised_for_standards(
    arm: ArmEmulator, repo: Path, cli_env: list[str], tmp_path: Path
) -> None:
    standards = tmp_path / "standards.yml"
    standards.write_text("regions:\n  allowed: [eastus2]\n")
    result = _run("provision", str(repo), *cli_env, "--yes", "--preview", "-l", "East US 2",
                  "--standards", str(standards))
    assert result.exit_code == 0, result.output


def test_preview_names_a_dropped_grant_with_the_resource_it_was_on(
    arm: ArmEmulator, repo: Path, cli_env: list[str]
) -> None:
    assert _run("provision", str(repo), *cli_env, "--yes", "--json").exit_code == 0
    params = repo / "infra" / "main.parameters.json"
    data = json.loads(params.read_text(encoding="utf-8"))
    data["parameters"]["developerProjectRoles"] = {"value": []}
    params.write_text(json.dumps(data), encoding="utf-8")
    project = arm.of_type("Microsoft.CognitiveServices/accounts/projects")[0]["name"]
    arm.reset_log()
    shown = _run("provision", str(repo), *cli_env, "--preview")
    assert shown.exit_code == 0, shown.output
    removed = [line for line in shown.output.splitlines() if "- removed" in line]
    assert removed and all(
        re.search(rf"Microsoft\.Authorization/roleAssignments/[0-9a-f-]{{36}} on {project} .*kept", line)
        for line in removed
    ), shown.output
    assert arm.writes() == 0


@pytest.mark.parametrize(
    ("infra", "shown"),
    [
        ("  path: deploy\n", "azure.yaml sets infra.path: deploy; scaffolder provisions only 'infra'"),
        ("  module: app\n", "azure.yaml sets infra.module: app; scaffolder provisions only 'main'"),
        ("  provider: terraform\n", "azure.yaml sets infra.provider: terraform; scaffolder provisions only 'bicep'"),
        ("  layers:\n    - name: core\n      path: infra/core\n", "azure.yaml sets infra.layers"),
    ],
)
def test_azure_yaml_pointing_azd_elsewhere_is_refused_in_one_line(
    arm: ArmEmulator, repo: Path, cli_env: list[str], infra: str, shown: str
) -> None:
    path = repo / "azure.yaml"
    text = re.sub(r"(?m)^  (path|module|provider): .*\n", "", path.read_text(encoding="utf-8"))
    path.write_text(text.replace("infra:\n", "infra:\n" + infra), encoding="utf-8")
    for command in ("provision", "destroy"):
        result = _run(command, str(repo), *cli_env, "--yes")
        assert result.exit_code == 2, result.output
        assert result.stderr.startswith(f"error: {shown}") and "nothing was" in result.stderr, result.stderr
        assert "Traceback" not in result.output
    assert arm.writes() == 0


def test_azure_yaml_naming_the_defaults_is_accepted(arm: ArmEmulator, repo: Path, cli_env: list[str]) -> None:
    path = repo / "azure.yaml"
    assert "  path: infra\n" in path.read_text(encoding="utf-8")  # as generated
    path.write_text(path.read_text(encoding="utf-8").replace("  path: infra\n", "  path: ./infra/\n"), "utf-8")
    result = _run("provision", str(repo), *cli_env, "--preview")
    assert result.exit_code == 0, result.output

