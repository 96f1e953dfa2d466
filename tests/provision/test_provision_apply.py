"""Apply against the ARM emulator: clean run, idempotent re-run, env file, and every fault class."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from scaffolder.errors import CredentialError, ProvisionError
from scaffolder.provisioning.api import ArmOptions, Provisioner
from scaffolder.provisioning.engine import Event
from scaffolder.provisioning.registry import resource_types
from tests.emulator import ArmEmulator, FakeCredential, Fault
from tests.provision.provkit import ENV, RG, Sleeps, provision

API_VERSIONS = {e.type: e.api_version for e in resource_types().values()}
DEP_MINI = "deployments.modelDeployment[0]"  # gpt-5.4-mini
DEP_FULL = "deployments.modelDeployment[1]"  # gpt-5.4


def _account_writes(arm: ArmEmulator) -> list[str]:
    return [p for m, p, _ in arm.responses if m == "PUT" and "/microsoft.cognitiveservices/" in p.lower()]


def test_clean_apply_then_rerun_sends_no_writes(arm: ArmEmulator, repo: Path, kw: dict[str, Any]) -> None:
    first = provision(repo, **kw)
    assert first.applied
    assert {c.action for c in first.changes} == {"create"}
    assert not arm.validation_errors
    assert not [r for r in arm.responses if r[2] >= 400 and r[0] != "GET"], "a clean run needs no retry"
    arm.reset_log()
    second = provision(repo, **kw)
    assert {c.action for c in second.changes} == {"unchanged"}
    assert arm.writes() == 0, arm.methods()
    assert second.outputs == first.outputs


def test_one_provisioner_serves_preflight_plan_apply_and_destroy(
    arm: ArmEmulator, repo: Path, kw: dict[str, Any]
) -> None:
    """The surface the CLI uses: one Provisioner over one frozen ArmOptions, each method reading infra/ anew."""
    prov = Provisioner(repo, ArmOptions(**kw))
    assert prov.preflight().ok
    assert arm.writes() == 0
    planned = prov.plan()
    assert not planned.applied and arm.writes() == 0
    assert {c.action for c in planned.changes} == {"create"}
    applied = prov.apply()
    assert applied.applied and [c.key for c in applied.changes] == [c.key for c in planned.changes]
    assert {c.action for c in prov.plan().changes} == {"unchanged"}
    gone = prov.destroy()
    assert gone.applied and gone.resource_group_deleted
    assert not arm.of_type("Microsoft.CognitiveServices/accounts")


_GENERATED_TYPES = {
    "Microsoft.Resources/resourceGroups",
    "Microsoft.CognitiveServices/accounts",
    "Microsoft.CognitiveServices/accounts/projects",
    "Microsoft.CognitiveServices/accounts/deployments",
    "Microsoft.CognitiveServices/accounts/projects/connections",  # the project's App Insights connection
    "Microsoft.ManagedIdentity/userAssignedIdentities",
    "Microsoft.OperationalInsights/workspaces",
    "Microsoft.Insights/components",
    "Microsoft.Authorization/roleAssignments",
}


def test_api_versions_on_the_wire_are_the_bicep_ones(arm: ArmEmulator, repo: Path, kw: dict[str, Any]) -> None:
    provision(repo, **kw)
    seen = arm.api_versions()
    assert seen == {t: {v} for t, v in API_VERSIONS.items() if t in seen}
    assert set(seen) == _GENERATED_TYPES


def test_resources_match_the_plan_names_tags_and_roles(arm: ArmEmulator, repo: Path, kw: dict[str, Any]) -> None:
    result = provision(repo, **kw)
    account = arm.of_type("Microsoft.CognitiveServices/accounts")[0]
    assert account["name"] == result.outputs["AZURE_AI_ACCOUNT_NAME"]
    assert account["tags"] == {"azd-env-name": ENV}
    assert account["properties"]["disableLocalAuth"] is True
    assert "restore" not in account["properties"]
    deployments = arm.of_type("Microsoft.CognitiveServices/accounts/deployments")
    assert sorted(d["name"] for d in deployments) == ["gpt-5.4", "gpt-5.4-mini"]
    identity = arm.of_type("Microsoft.ManagedIdentity/userAssignedIdentities")[0]
    assignments = arm.of_type("Microsoft.Authorization/roleAssignments")
    by_principal: dict[str, list[str]] = {}
    for ra in assignments:
        props = ra["properties"]
        by_principal.setdefault(props["principalId"], []).append(props["roleDefinitionId"].rsplit("/", 1)[1])
        assert props["principalType"] == (
            "User" if props["principalId"] == FakeCredential().object_id else "ServicePrincipal"
        )
    foundry_user = "53ca6127-db72-4b80-b1b0-d745d6d5456d"
    publisher = "3913510d-42f4-4e42-8a64-420c390055eb"  # Monitoring Metrics Publisher, as published by Azure
    assert sorted(by_principal[identity["properties"]["principalId"]]) == sorted([foundry_user, publisher])
    # the developer: Foundry User on the project, Reader on the resource (the portal's documented minimum)
    reader, traces = "acdd72a7-3385-48ef-bd42-f606fba81ae7", "73c42c96-874c-492b-b04d-ab87d138a893"
    # the developer: Foundry User on the project, Reader on the resource, Log Analytics Reader on the traces
    assert sorted(by_principal[FakeCredential().object_id]) == sorted([foundry_user, reader, traces])
    project = arm.of_type("Microsoft.CognitiveServices/accounts/projects")[0]
    assert by_principal[project["identity"]["principalId"]] == [foundry_user]


def test_outputs_go_to_the_azd_env_file(arm: ArmEmulator, repo: Path, kw: dict[str, Any]) -> None:
    env_file = repo / ".azure" / ENV / ".env"
    env_file.parent.mkdir(parents=True)
    env_file.write_text('AZURE_PRINCIPAL_ID="kept"\n', encoding="utf-8")
    result = provision(repo, **kw)
    assert result.env_file == env_file
    lines = dict(line.split("=", 1) for line in env_file.read_text(encoding="utf-8").splitlines())
    assert lines["AZURE_PRINCIPAL_ID"] == '"kept"'
    assert lines["AZURE_ENV_NAME"] == f'"{ENV}"'
    assert lines["AZURE_RESOURCE_GROUP"] == f'"{RG}"'
    assert lines["AZURE_SUBSCRIPTION_ID"] == f'"{arm.subscription_id}"'
    assert lines["AZURE_LOCATION"] == '"eastus2"'
    name = result.outputs["AZURE_AI_ACCOUNT_NAME"]
    assert lines["AZURE_OPENAI_ENDPOINT"] == f'"https://{name}.openai.azure.com/"'
    assert lines["AZURE_OPENAI_BASE_URL"] == f'"https://{name}.openai.azure.com/openai/v1/"'
    assert lines["AZURE_AI_PROJECT_ENDPOINT"] == f'"https://{name}.services.ai.azure.com/api/projects/demo"'
    assert lines["AZURE_AI_MODEL_DEPLOYMENTS"] == '"[\\"gpt-5.4-mini\\", \\"gpt-5.4\\"]"'
    assert lines["APPLICATIONINSIGHTS_CONNECTION_STRING"].startswith('"InstrumentationKey=')
    identity = arm.of_type("Microsoft.ManagedIdentity/userAssignedIdentities")[0]
    assert lines["AZURE_CLIENT_ID"] == f'"{identity["properties"]["clientId"]}"'
    assert "Bearer" not in env_file.read_text() and "eyJ" not in env_file.read_text()
    assert (repo / ".azure" / "config.json").read_text().count(ENV) == 1
    assert not list(env_file.parent.glob(".env.*")), "no temporary file left behind"


def test_deployments_on_one_account_are_never_written_in_parallel(
    arm: ArmEmulator, repo: Path, kw: dict[str, Any]
) -> None:
    provision(repo, **kw)
    # The emulator answers 409 RequestConflict to a second write while one runs on the account.
    assert not [r for r in arm.responses if r[2] == 409]
    assert arm.max_parallel_account_writes <= 1


def test_changed_capacity_updates_only_that_deployment(
    arm: ArmEmulator, repo: Path, kw: dict[str, Any], tmp_path: Path
) -> None:
    from tests.helpers import make_spec
    from tests.provision.provkit import write_repo

    provision(repo, **kw)
    write_repo(repo, make_spec("agents", hosting="none", models=["gpt-5.4-mini,capacity=30", "gpt-5.4"], capacity=20))
    arm.reset_log()
    result = provision(repo, **kw)
    changed = [(c.key, c.differences) for c in result.changes if c.action != "unchanged"]
    assert changed == [(DEP_MINI, ("sku.capacity",))]
    assert [m for m, _, _ in arm.responses if m == "PUT"] == ["PUT"]


def test_preview_writes_nothing(arm: ArmEmulator, repo: Path, kw: dict[str, Any]) -> None:
    result = provision(repo, preview=True, **kw)
    assert not result.applied
    assert arm.writes() == 0
    assert not (repo / ".azure").exists()


def test_declined_confirmation_writes_nothing(arm: ArmEmulator, repo: Path, kw: dict[str, Any]) -> None:
    asked: list[int] = []

    def no(changes: list[Any]) -> bool:
        asked.append(len(changes))
        return False

    with pytest.raises(ProvisionError, match="cancelled"):
        provision(repo, confirm=no, **kw)
    assert asked and arm.writes() == 0


def test_progress_events_cover_every_write(arm: ArmEmulator, repo: Path, kw: dict[str, Any]) -> None:
    events: list[Event] = []
    result = provision(repo, on_event=events.append, **kw)
    done = {e.key for e in events if e.kind == "done"}
    assert done == {c.key for c in result.changes}
    assert all(e.kind in {"start", "done"} for e in events)


# -- faults ------------------------------------------------------------------------------------


def test_429_waits_for_retry_after(arm: ArmEmulator, repo: Path, kw: dict[str, Any], sleeps: Sleeps) -> None:
    fault = arm.inject(Fault("PUT", "/providers/Microsoft.ManagedIdentity/", 429, "TooManyRequests", retry_after="7"))
    provision(repo, **kw)
    assert fault.hits == 1
    assert 7.0 in sleeps.calls


def test_5xx_is_retried_with_backoff(arm: ArmEmulator, repo: Path, kw: dict[str, Any], sleeps: Sleeps) -> None:
    fault = arm.inject(Fault("GET", "/providers/Microsoft.OperationalInsights/", 503, "ServiceUnavailable", times=2))
    result = provision(repo, **kw)
    assert fault.hits == 2 and result.applied
    assert len(sleeps.calls) >= 2


def test_request_conflict_on_the_account_is_retried(
    arm: ArmEmulator, repo: Path, kw: dict[str, Any], sleeps: Sleeps
) -> None:
    fault = arm.inject(
        Fault("PUT", "/deployments/gpt-5.4-mini", 409, "RequestConflict", "Another operation is running")
    )
    result = provision(repo, **kw)
    assert fault.hits == 1 and result.applied
    assert len(arm.of_type("Microsoft.CognitiveServices/accounts/deployments")) == 2


def test_transient_failures_are_bounded(arm: ArmEmulator, repo: Path, kw: dict[str, Any], sleeps: Sleeps) -> None:
    arm.inject(Fault("PUT", "/providers/Microsoft.ManagedIdentity/", 500, "InternalServerError", times=99))
    with pytest.raises(ProvisionError) as err:
        provision(repo, **kw)
    assert err.value.code == "InternalServerError"
    assert "after 4 tries" in err.value.message
    assert len(sleeps.calls) == 3


def test_lro_failed_stops_then_rerun_finishes(arm: ArmEmulator, repo: Path, kw: dict[str, Any]) -> None:
    arm.inject(Fault("PUT", "/deployments/gpt-5.4$", 0, "ModelCapacityUnavailable", "no capacity right now", lro=True))
    with pytest.raises(ProvisionError) as err:
        provision(repo, **kw)
    assert err.value.code == "ModelCapacityUnavailable"
    assert DEP_FULL in err.value.message and "not done" in err.value.message
    failed = [d for d in arm.of_type("Microsoft.CognitiveServices/accounts/deployments") if d["name"] == "gpt-5.4"]
    assert failed[0]["properties"]["provisioningState"] == "Failed"
    arm.reset_log()
    result = provision(repo, **kw)
    redo = {c.key: c.differences for c in result.changes if c.action != "unchanged"}
    assert DEP_FULL in redo and "provisioningState=Failed" in redo[DEP_FULL]
    assert "account.account" not in redo and "project.project" not in redo
    arm.reset_log()
    provision(repo, **kw)
    assert arm.writes() == 0


def test_insufficient_quota_names_the_code(arm: ArmEmulator, repo: Path, kw: dict[str, Any]) -> None:
    arm.set_quota("eastus2", "OpenAI.GlobalStandard.gpt-5.4", 5)
    with pytest.raises(ProvisionError) as err:
        provision(repo, skip_preflight=True, **kw)
    assert err.value.code == "InsufficientQuota"
    assert "InsufficientQuota" in err.value.message and "preflight" in (err.value.hint or "")


def test_soft_deleted_name_without_restore_fails_with_the_arm_code(
    arm: ArmEmulator, repo: Path, kw: dict[str, Any]
) -> None:
    from scaffolder.provisioning.plan import Target, plan_from_bicep

    name = str(plan_from_bicep(repo, Target(arm.subscription_id, RG, "eastus2", ENV)).get("account.account").name)
    arm.soft_delete("eastus2", RG, name)
    with pytest.raises(ProvisionError) as err:
        provision(repo, skip_preflight=True, **kw)
    assert err.value.code == "FlagMustBeSetForRestore"
    assert "--restore" in (err.value.hint or "")
    result = provision(repo, restore=True, **kw)
    assert result.applied and not arm.deleted_accounts


def test_principal_not_found_after_identity_creation_is_retried(
    arm: ArmEmulator, repo: Path, kw: dict[str, Any], sleeps: Sleeps
) -> None:
    fault = arm.inject(
        Fault("PUT", "/providers/Microsoft.Authorization/roleAssignments/", 400, "PrincipalNotFound", times=2)
    )
    result = provision(repo, **kw)
    assert fault.hits == 2 and result.applied
    assert len(sleeps.calls) >= 1


def test_existing_assignment_under_another_name_counts_as_done(
    arm: ArmEmulator, repo: Path, kw: dict[str, Any]
) -> None:
    provision(repo, **kw)
    # Rename one assignment, as if someone had granted the same role by hand.
    ra = arm.of_type("Microsoft.Authorization/roleAssignments")[0]
    del arm.resources[ra["id"].lower()]
    moved = ra["id"].rsplit("/", 1)[0] + "/aaaaaaaa-0000-4000-8000-000000000001"
    arm.resources[moved.lower()] = {**ra, "id": moved, "name": moved.rsplit("/", 1)[1]}
    arm.reset_log()
    result = provision(repo, **kw)
    assert {c.action for c in result.changes} == {"unchanged"}
    assert arm.writes() == 0


def test_role_assignment_exists_conflict_is_success(arm: ArmEmulator, repo: Path, kw: dict[str, Any]) -> None:
    fault = arm.inject(Fault("PUT", "/providers/Microsoft.Authorization/roleAssignments/", 409, "RoleAssignmentExists"))
    result = provision(repo, **kw)
    assert fault.hits == 1 and result.applied


def test_unavailable_credential_is_one_clear_error(arm: ArmEmulator, repo: Path, kw: dict[str, Any]) -> None:
    from azure.identity import CredentialUnavailableError

    class NoCredential:
        def get_token(self, *scopes: str, **kwargs: Any) -> Any:
            raise CredentialUnavailableError("DefaultAzureCredential failed to retrieve a token")

    with pytest.raises(CredentialError) as err:
        provision(repo, **{**kw, "credential": NoCredential()})
    assert "no Azure credential available" in err.value.message
    assert "az login" in (err.value.hint or "")
    assert arm.count() == 0


def test_interrupted_run_resumes(arm: ArmEmulator, repo: Path, kw: dict[str, Any]) -> None:
    class Stop(Exception):
        pass

    def stop_after_account(event: Event) -> None:
        if event.key == "account.account" and event.kind == "done":
            raise KeyboardInterrupt

    with pytest.raises(ProvisionError, match="stopped by user"):
        provision(repo, on_event=stop_after_account, **kw)
    assert arm.of_type("Microsoft.CognitiveServices/accounts")
    result = provision(repo, **kw)
    assert [c.key for c in result.changes if c.action == "unchanged"][:2] == ["resourceGroup", "account.account"]
    arm.reset_log()
    provision(repo, **kw)
    assert arm.writes() == 0


def test_resource_left_creating_by_a_crash_is_written_again(arm: ArmEmulator, repo: Path, kw: dict[str, Any]) -> None:
    provision(repo, **kw)
    # As if the process died while the operation ran: ARM still shows the deployment as Creating.
    dep = next(d for d in arm.of_type("Microsoft.CognitiveServices/accounts/deployments") if d["name"] == "gpt-5.4")
    dep["properties"]["provisioningState"] = "Creating"
    arm.reset_log()
    result = provision(repo, **kw)
    redo = [(c.key, c.differences) for c in result.changes if c.action != "unchanged"]
    assert redo == [(DEP_FULL, ("provisioningState=Creating",))]
    assert arm.resource(dep["id"])["properties"]["provisioningState"] == "Succeeded"  # type: ignore[index]


def test_credential_failing_mid_run_is_a_credential_error(arm: ArmEmulator, repo: Path, kw: dict[str, Any]) -> None:
    from azure.core.exceptions import ClientAuthenticationError

    class Expiring(FakeCredential):
        def get_token(self, *scopes: str, **kwargs: Any) -> Any:
            if self.calls >= 1:  # the first token (to read the caller's object id) works, then sign-in lapses
                raise ClientAuthenticationError("AADSTS700082: The refresh token has expired")
            return super().get_token(*scopes, **kwargs)

    with pytest.raises(CredentialError, match="AADSTS700082") as err:
        provision(repo, **{**kw, "credential": Expiring()})
    assert "az login" in (err.value.hint or "")


def test_public_api_is_lazy_and_callable() -> None:
    import subprocess
    import sys

    code = (
        "import sys, scaffolder; p = scaffolder.Provisioner; o = scaffolder.ArmOptions; "
        "print(callable(p.apply) and callable(o), any(m.startswith('azure') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["True", "False"]
