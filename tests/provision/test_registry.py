"""The resource type registry is the one place a type is described: the Bicep, naming, standards, preflight
and the emulator agree with it (adding a type is one entry plus its Bicep module)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from scaffolder import infra, standards
from scaffolder.provisioning import registry
from scaffolder.provisioning.plan import Target, plan_from_bicep
from scaffolder.provisioning.preflight import required_actions
from scaffolder.validate import load_bicep
from tests.emulator import ArmEmulator
from tests.emulator import schema as bicep_types
from tests.helpers import make_spec
from tests.provision.provkit import write_repo

BICEP = Path(__file__).resolve().parents[2] / "bicep"
ENTRIES = sorted(registry.resource_types().values(), key=lambda e: e.type)
# The types the hosting work adds; a generic provisioner needs only their entries.
HOSTING_AND_DATA = {
    "Microsoft.App/managedEnvironments",
    "Microsoft.App/containerApps",
    "Microsoft.ContainerRegistry/registries",
    "Microsoft.Insights/diagnosticSettings",
    "Microsoft.Search/searchServices",
    "Microsoft.Storage/storageAccounts",
    "Microsoft.DocumentDB/databaseAccounts",
    "Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments",
}


def test_every_bicep_resource_uses_the_registry_api_version() -> None:
    found = []
    for path in sorted(BICEP.rglob("*.bicep")):
        for res in load_bicep(path).all_resources():
            entry = registry.lookup(res.type)
            assert entry is not None, f"{path.name}: {res.type} has no entry in catalog/resource_types.yaml"
            assert res.api_version == entry.api_version, f"{path.name}: {res.type}@{res.api_version}"
            found.append(res.type)
    assert "Microsoft.CognitiveServices/accounts/deployments" in found


def test_hosting_and_data_types_have_entries() -> None:
    assert {e.type for e in ENTRIES} >= HOSTING_AND_DATA


@pytest.mark.usefixtures("bicep_types_dir")  # skips for the shared reason when the type data is absent
@pytest.mark.parametrize("entry", [e for e in ENTRIES if e.type != "Microsoft.Resources/resourceGroups"], ids=str)
def test_entry_matches_the_bicep_type_data(entry: registry.ResourceType) -> None:
    provider = entry.type.split("/")[0].lower()
    path = bicep_types.SHARED_TYPES / provider / entry.api_version / "types.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    wanted = f"{entry.type}@{entry.api_version}".lower()
    resource = next(e for e in data if e.get("$type") == "ResourceType" and e["name"].lower() == wanted)
    body = data[int(resource["body"]["$ref"].rsplit("/", 1)[1])]
    name = data[int(body["properties"]["name"]["type"]["$ref"].rsplit("/", 1)[1])]
    # Where the type data bounds the name, the registry says the same.
    if "maxLength" in name:
        assert entry.name_max == name["maxLength"], entry.type
    if "minLength" in name:
        assert entry.name_min == name["minLength"], entry.type
    for path_ in entry.write_only:
        assert path_.startswith("properties."), path_


def test_naming_reads_the_registry_and_keeps_no_copy() -> None:
    # The four naming kinds, their limits ([names] page) and CAF abbreviations, as the registry states them.
    assert standards.resource_kinds() == ("account", "identity", "logAnalytics", "appInsights")
    assert infra.name_limits() == {"account": 64, "identity": 128, "logAnalytics": 63, "appInsights": 255}
    assert standards.default_abbreviations() == {"account": "", "identity": "id-", "logAnalytics": "log-",
                                                 "appInsights": "appi-"}
    # No hand-kept table left beside the registry.
    for module in (standards, infra):
        assert not {"RESOURCE_KINDS", "DEFAULT_ABBREVIATIONS", "NAME_LIMITS"} & set(vars(module)), module


def test_a_registry_edit_reaches_naming(monkeypatch: pytest.MonkeyPatch) -> None:
    """Changing a kind's entry changes the names and the standards check: the registry is the one place."""
    entries = dict(registry.resource_types())
    low = "microsoft.managedidentity/userassignedidentities"
    entries[low] = dataclasses.replace(entries[low], name_max=20, abbreviation="uai-")
    monkeypatch.setattr(registry, "resource_types", lambda: entries)
    assert infra.name_limits()["identity"] == 20
    assert standards.default_abbreviations()["identity"] == "uai-"
    spec = make_spec("inference", name="a-rather-long-project-name")
    names = infra.resource_names(spec, "dev", "eastus2", "abcdefghijklm")
    assert len(names["identity"]) == 20 and names["identity"].endswith("abcdefghijklm")


def test_only_foundry_children_are_serialised() -> None:
    serialised = {e.type for e in ENTRIES if e.serialise_under_parent}
    assert serialised == {
        "Microsoft.CognitiveServices/accounts/projects",
        "Microsoft.CognitiveServices/accounts/deployments",
        "Microsoft.CognitiveServices/accounts/projects/connections",
        "Microsoft.CognitiveServices/accounts/capabilityHosts",
        "Microsoft.CognitiveServices/accounts/projects/capabilityHosts",
    }


def test_preflight_asks_for_the_registry_permission_of_every_planned_type(tmp_path: Path) -> None:
    repo = write_repo(tmp_path / "repo", make_spec("agents", hosting="none"))
    plan = plan_from_bicep(repo, Target("sub", "rg", "eastus2", "dev", principal_id="me"))
    actions = required_actions(plan)
    assert "Microsoft.Authorization/roleAssignments/write" in actions
    assert "Microsoft.CognitiveServices/accounts/projects/write" in actions
    assert registry.write_permission("Contoso.Widgets/gadgets") == "Contoso.Widgets/gadgets/write"


def test_the_emulator_refuses_an_api_version_the_registry_does_not_pin(arm: ArmEmulator) -> None:
    """Over HTTP: the registry's version is accepted, any other version of the same type is refused."""
    from scaffolder.errors import ProvisionError
    from scaffolder.provisioning.arm import Arm, Connection
    from scaffolder.provisioning.faults import Control
    from scaffolder.provisioning.plan import PlannedResource
    from tests.emulator import FakeCredential

    entry = registry.lookup("Microsoft.ManagedIdentity/userAssignedIdentities")
    assert entry is not None
    client = Arm(Connection(FakeCredential(), arm.subscription_id, arm.url, arm.ca_path, 0), Control())
    rg = f"/subscriptions/{arm.subscription_id}/resourceGroups/rg-reg"
    rg_entry = registry.lookup("Microsoft.Resources/resourceGroups")
    assert rg_entry is not None
    group = PlannedResource(
        "rg", rg_entry.type, rg_entry.api_version, f"/subscriptions/{arm.subscription_id}", "rg-reg", {}
    )
    client.put(group, "rg-reg", {"location": "eastus2"})
    good = PlannedResource("id", entry.type, entry.api_version, rg, "id-a", {})
    assert client.put(good, "id-a", {"location": "eastus2"})["name"] == "id-a"
    stale = PlannedResource("id", entry.type, "2018-11-30", rg, "id-b", {})
    with pytest.raises(Exception) as err:
        client.put(stale, "id-b", {"location": "eastus2"})
    assert not isinstance(err.value, ProvisionError) and "2018-11-30" in str(err.value)


def test_write_permission_is_derived_except_for_the_resource_group() -> None:
    for entry in ENTRIES:
        expected = "Microsoft.Resources/subscriptions/resourceGroups/write"
        if entry.type != "Microsoft.Resources/resourceGroups":
            expected = f"{entry.type}/write"
        assert entry.write_permission == expected


def test_library_code_does_not_print() -> None:
    """provisioning/ and validate/ return data and take callbacks; only the CLI side renders."""
    import ast

    root = Path(__file__).resolve().parents[2] / "scaffolder"
    offenders = []
    for path in [*(root / "provisioning").rglob("*.py"), *(root / "validate").rglob("*.py")]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print":
                offenders.append(f"{path.relative_to(root)}:{node.lineno}")
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("rich"):
                offenders.append(f"{path.relative_to(root)}:{node.lineno}")
    assert offenders == []


def test_exit_codes_come_from_the_errors_module() -> None:
    """The CLI exits with named codes from scaffolder/errors.py (documented there), never a bare number."""
    import ast

    from scaffolder import errors

    cli = Path(__file__).resolve().parents[2] / "scaffolder" / "cli.py"
    offenders = []
    for node in ast.walk(ast.parse(cli.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("Exit", "exit"):
            values = [a for a in node.args if isinstance(a, ast.Constant) and a.value not in (0, None)]
            values += [a for arg in node.args if isinstance(arg, ast.IfExp)
                       for a in (arg.body, arg.orelse) if isinstance(a, ast.Constant) and a.value not in (0, None)]
            offenders += [f"cli.py:{a.lineno}" for a in values]
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "code" for t in node.targets)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, int)
        ):
            offenders.append(f"cli.py:{node.lineno}")
    assert offenders == []
    assert (errors.EXIT_INTERRUPTED, errors.EXIT_BROKEN_PIPE) == (130, 141)  # 128 + SIGINT / SIGPIPE
    assert errors.ProvisionInterrupted.exit_code == errors.UpdateInterrupted.exit_code == errors.EXIT_INTERRUPTED


def test_credentials_are_typed_as_token_credentials() -> None:
    """Credentials crossing the API are azure-core's TokenCredential protocol (met by the fakes, azure-identity)."""
    import dataclasses
    import inspect

    from azure.core.credentials import TokenCredential

    from scaffolder.provisioning import api, arm
    from tests.emulator import FakeCredential

    fields = {f.name: f.type for f in dataclasses.fields(api.ArmOptions)}
    assert fields["credential"] == "TokenCredential | None"
    assert {f.name: f.type for f in dataclasses.fields(arm.Connection)}["credential"] == "TokenCredential"
    assert inspect.signature(api.default_credential).return_annotation == "TokenCredential"
    assert isinstance(FakeCredential(), TokenCredential)
    assert isinstance(api.default_credential("login.microsoftonline.com", "t-1"), TokenCredential)
