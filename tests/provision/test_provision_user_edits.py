"""Provision what infra/ says, user edits included: added resources, edited parameters and tags, removed ones.

The plan is the repo's own infra/main.bicep evaluated, so the emulator's resources are compared with that
evaluation (not with a second description of the Bicep): every planned resource exists with the planned
body, nothing else was created, and a re-run sends no write.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from scaffolder.errors import ProvisionError
from scaffolder.provisioning.engine import diff
from scaffolder.provisioning.plan import Target, plan_from_bicep
from tests.emulator import ArmEmulator, FakeCredential
from tests.helpers import storage_account
from tests.provision.provkit import ENV, RG, provision

STORAGE = (
    "\n// Added by hand after generation: a type provisioning has no code for.\n"
    + storage_account("'st${resourceToken}'", api_version="2025-06-01", tags="allTags")
    + """
output STORAGE_ACCOUNT_NAME string = storage.name
output STORAGE_BLOB_ENDPOINT string = storage.properties.primaryEndpoints.blob
"""
)


def _edit(repo: Path, capacity: int = 7) -> None:
    main = repo / "infra" / "main.bicep"
    main.write_text(main.read_text(encoding="utf-8") + STORAGE, encoding="utf-8")
    params_path = repo / "infra" / "main.parameters.json"
    params = json.loads(params_path.read_text(encoding="utf-8"))
    params["parameters"]["modelDeployments"]["value"][0]["capacity"] = capacity
    params_path.write_text(json.dumps(params, indent=2), encoding="utf-8")
    identity = repo / "infra" / "modules" / "app-identity.bicep"
    text = identity.read_text(encoding="utf-8")
    assert "  tags: tags\n" in text
    identity.write_text(text.replace("  tags: tags\n", "  tags: union(tags, {\n    team: 'platform'\n  })\n"))


def _target(arm: ArmEmulator, kw: dict[str, Any]) -> Target:
    from tests.emulator import FakeCredential

    return Target(arm.subscription_id, RG, "eastus2", ENV, principal_id=FakeCredential().object_id)


@pytest.mark.usefixtures("bicep_types_dir")  # skips for the shared reason when the type data is absent
def test_user_edited_infra_is_provisioned_exactly_then_rerun_writes_nothing(
    arm: ArmEmulator, repo: Path, kw: dict[str, Any]
) -> None:
    provision(repo, **kw)
    _edit(repo)

    preview = provision(repo, preview=True, **kw)
    pending = {(c.type, c.action, c.differences) for c in preview.changes if c.action != "unchanged"}
    assert pending == {
        ("Microsoft.Storage/storageAccounts", "create", ()),
        ("Microsoft.CognitiveServices/accounts/deployments", "update", ("sku.capacity",)),
        ("Microsoft.ManagedIdentity/userAssignedIdentities", "update", ("tags",)),
    }

    arm.reset_log()
    result = provision(repo, **kw)
    puts = sorted(p.split("/")[-2] for m, p, _ in arm.responses if m == "PUT")
    assert puts == ["deployments", "storageAccounts", "userAssignedIdentities"], arm.responses
    assert not arm.validation_errors

    # Compared with the evaluated Bicep: every planned resource exists with its planned body ...
    plan = plan_from_bicep(repo, _target(arm, kw))
    states: dict[str, dict[str, Any]] = {}
    for res in plan.resources:
        name = str(plan.resolve(res.name, states))
        actual = arm.resource(res.id_for(name))
        assert actual is not None, res.key
        states[res.key] = actual
        assert diff(plan.resolve(res.body, states), actual, res.write_only) == [], res.key
    # ... and nothing else exists.
    planned_ids = {r.id_for(str(plan.resolve(r.name, states))).lower() for r in plan.resources}
    assert set(arm.resources) == planned_ids
    storage = arm.of_type("Microsoft.Storage/storageAccounts")[0]
    assert storage["properties"]["allowSharedKeyAccess"] is False
    assert storage["tags"] == {"azd-env-name": ENV}
    deployment = next(d for d in arm.of_type("Microsoft.CognitiveServices/accounts/deployments"))
    assert deployment["sku"]["capacity"] == 7
    identity = arm.of_type("Microsoft.ManagedIdentity/userAssignedIdentities")[0]
    assert identity["tags"] == {"azd-env-name": ENV, "team": "platform"}
    assert result.outputs["STORAGE_ACCOUNT_NAME"] == storage["name"]

    arm.reset_log()
    again = provision(repo, **kw)
    assert arm.writes() == 0, arm.methods()
    assert {c.action for c in again.changes} == {"unchanged"}


@pytest.mark.usefixtures("bicep_types_dir")  # skips for the shared reason when the type data is absent
def test_a_type_outside_the_registry_needs_no_python(arm: ArmEmulator, repo: Path, kw: dict[str, Any]) -> None:
    from scaffolder.provisioning import registry

    # (Cosmos DB was the example until the standard agent setup registered it.)
    assert registry.lookup("Microsoft.Network/virtualNetworks") is None
    main = repo / "infra" / "main.bicep"
    main.write_text(
        main.read_text(encoding="utf-8")
        + """
resource vnet 'Microsoft.Network/virtualNetworks@2025-05-01' = {
  name: 'vnet-${resourceToken}'
  location: location
  properties: {
    addressSpace: {
      addressPrefixes: [
        '10.20.0.0/16'
      ]
    }
  }
}
""",
        encoding="utf-8",
    )
    provision(repo, **kw)
    vnets = arm.of_type("Microsoft.Network/virtualNetworks")
    assert len(vnets) == 1 and vnets[0]["properties"]["addressSpace"]["addressPrefixes"] == ["10.20.0.0/16"]
    assert not arm.validation_errors
    arm.reset_log()
    provision(repo, **kw)
    assert arm.writes() == 0


def test_preview_reports_a_removed_resource_and_deletes_nothing(
    arm: ArmEmulator, repo: Path, kw: dict[str, Any]
) -> None:
    provision(repo, **kw)
    main = repo / "infra" / "main.bicep"
    text = main.read_text(encoding="utf-8")
    # The user takes monitoring out as a whole: the module, the project's App Insights connection that reads its
    # outputs, and every other use of those outputs (left dangling, the Bicep would not compile at all).
    for module in ("module monitoring ", "module appInsightsConnection "):
        start = text.index(module)
        end = text.index("\n}\n", start) + 3
        text = text[:start] + text[end:]
    text = re.sub(r"enableMonitoring \? monitoring\.outputs\.\w+ : ''", "''", text)
    assert "monitoring.outputs" not in text
    main.write_text(text, encoding="utf-8")
    arm.reset_log()
    result = provision(repo, preview=True, **kw)
    assert arm.writes() == 0
    removed = sorted(r.split("/")[-2] for r in result.removed)
    # The top-level resources (tagged with the environment) and the project's App Insights connection, a child
    # of a project that stays: listed, none deleted.
    assert removed == ["components", "connections", "workspaces"]
    assert len(arm.of_type("Microsoft.Insights/components")) == 1
    assert len(arm.of_type("Microsoft.CognitiveServices/accounts/projects/connections")) == 1


def test_unsupported_construct_is_one_error_with_file_and_line(
    arm: ArmEmulator, repo: Path, kw: dict[str, Any]
) -> None:
    main = repo / "infra" / "main.bicep"
    lines = main.read_text(encoding="utf-8").splitlines()
    lines += [
        "var storageNames = map(range(0, 2), i => 'st${i}${resourceToken}')",
        "resource store 'Microsoft.Storage/storageAccounts@2025-06-01' = {",
        "  name: storageNames[0]",
        "  location: location",
        "  kind: 'StorageV2'",
        "  sku: {",
        "    name: 'Standard_LRS'",
        "  }",
        "}",
    ]
    main.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ProvisionError) as err:
        provision(repo, **kw)
    assert err.value.code == "UnsupportedBicep"
    # The line of the `var` whose value the evaluator cannot follow, and the construct by name.
    assert err.value.message.startswith(f"infra/main.bicep:{len(lines) - 8}: ")
    assert "map()" in err.value.message
    assert "azd up" in (err.value.hint or "")
    assert arm.count() == 0, "nothing read or written before the plan exists"


def test_an_existing_resource_is_read_never_written(arm: ArmEmulator, repo: Path, kw: dict[str, Any]) -> None:
    main = repo / "infra" / "main.bicep"
    main.write_text(
        main.read_text(encoding="utf-8")
        + """
resource shared 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' existing = {
  name: 'id-shared'
}

output SHARED_CLIENT_ID string = shared.properties.clientId
""",
        encoding="utf-8",
    )
    with pytest.raises(ProvisionError) as err:
        provision(repo, **kw)
    assert err.value.code == "ResourceNotFound" and "id-shared" in err.value.message
    assert err.value.message.startswith("infra/main.bicep:")
    rg = f"/subscriptions/{arm.subscription_id}/resourceGroups/{RG}"
    rid = f"{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-shared"
    arm.resources[rid.lower()] = {
        "id": rid,
        "name": "id-shared",
        "type": "Microsoft.ManagedIdentity/userAssignedIdentities",
        "location": "eastus2",
        "properties": {"clientId": "c0ffee00-0000-4000-8000-000000000001", "principalId": "p"},
    }
    result = provision(repo, **kw)
    assert result.outputs["SHARED_CLIENT_ID"] == "c0ffee00-0000-4000-8000-000000000001"
    assert not [p for m, p, _ in arm.responses if m == "PUT" and p.endswith("/id-shared")]


def test_preview_reports_grants_dropped_from_the_parameters_file_and_deletes_none(
    arm: ArmEmulator, repo: Path, kw: dict[str, Any]
) -> None:
    provision(repo, **kw)
    before = {ra["id"].lower(): ra for ra in arm.of_type("Microsoft.Authorization/roleAssignments")}
    clean = provision(repo, preview=True, **kw)
    assert clean.removed == [], "nothing was removed yet"
    params = repo / "infra" / "main.parameters.json"
    data = json.loads(params.read_text(encoding="utf-8"))
    for name in ("appAccountRoles", "appProjectRoles", "developerAccountRoles", "developerProjectRoles"):
        data["parameters"][name] = {"value": []}
    params.write_text(json.dumps(data, indent=2), encoding="utf-8")
    arm.reset_log()
    result = provision(repo, preview=True, **kw)
    assert arm.writes() == 0
    scopes = {arm.of_type(t)[0]["id"].lower() for t in ("Microsoft.CognitiveServices/accounts",
                                                         "Microsoft.CognitiveServices/accounts/projects")}
    app = arm.of_type("Microsoft.ManagedIdentity/userAssignedIdentities")[0]["properties"]["principalId"]
    developer = FakeCredential().object_id
    dropped = sorted(
        rid
        for rid, ra in before.items()
        if ra["properties"]["scope"].lower() in scopes and ra["properties"]["principalId"] in {app, developer}
    )
    assert len(dropped) >= 3
    assert sorted(r.lower() for r in result.removed) == dropped
    # Listed, never deleted: every grant is still there.
    assert {ra["id"].lower() for ra in arm.of_type("Microsoft.Authorization/roleAssignments")} == set(before)
