"""The evaluated Bicep behaves as ARM would: secure values stay secret, parameters are validated first,
duplicate ids and unhandled statements are errors, resourceGroup() is the existing group."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from scaffolder.errors import ParameterError, ProvisionError
from scaffolder.provisioning.api import is_secret
from tests.emulator import ArmEmulator
from tests.provision.provkit import destroy, provision

SECURE = """
@secure()
param dbPassword string = 'hunter2-default'

@secure()
output DB_CONN string = 'Server=x;Password=${dbPassword}'
output STORAGE_CONN string = 'AccountKey=abc${dbPassword}'
output MESSAGE string = 'the password is ${dbPassword}'
output PLAIN_SAS string = 'https://x.blob.core.windows.net/c?sv=2024&sig=abcdef'
"""


def _append(repo: Path, text: str, file: str = "main.bicep") -> None:
    path = repo / "infra" / file
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


def _set_param(repo: Path, name: str, value: object) -> None:
    path = repo / "infra" / "main.parameters.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["parameters"][name] = {"value": value}
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")


def test_secure_outputs_and_secret_values_are_never_returned_printed_or_written(
    arm: ArmEmulator, repo: Path, kw: dict[str, Any]
) -> None:
    _append(repo, SECURE)
    result = provision(repo, **kw)
    doc = json.dumps(result.as_dict())
    assert "hunter2" not in doc
    assert "sig=abcdef" not in doc
    withheld = result.as_dict()["outputs_withheld"]
    assert {"DB_CONN", "STORAGE_CONN", "MESSAGE", "PLAIN_SAS"} <= set(withheld)
    assert "DB_CONN" not in result.outputs  # ARM keeps no value for a @secure() output
    env_file = result.env_file.read_text(encoding="utf-8") if result.env_file else ""
    assert "DB_CONN" not in env_file  # azd leaves secure outputs out of .env (Azure/azure-dev#5477)
    assert 'STORAGE_CONN="AccountKey=abchunter2-default"' in env_file  # a plain output, as azd writes it


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ENDPOINT", "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=Zm9v;EndpointSuffix=core.windows.net"),
        ("ENDPOINT", "Endpoint=sb://x.servicebus.windows.net/;SharedAccessKeyName=k;SharedAccessKey=abc"),
        ("ENDPOINT", "Server=tcp:x;User ID=u;Password=p"),
        ("ENDPOINT", "https://x.blob.core.windows.net/c?sv=1&sig=abc"),
        ("ENDPOINT", "InstrumentationKey=0000;IngestionEndpoint=https://x"),
        ("DB_PASSWORD", "anything"),
    ],
)
def test_secrets_are_recognised_by_value_as_well_as_by_name(name: str, value: str) -> None:
    assert is_secret(name, value)


def test_plain_outputs_are_shown() -> None:
    assert not is_secret("AZURE_OPENAI_ENDPOINT", "https://x.openai.azure.com/")
    assert not is_secret("URL", "https://x/?signature=no", frozenset({"hunter2"}))
    assert is_secret("URL", "https://x/?p=hunter2", frozenset({"hunter2"}))


@pytest.mark.parametrize(
    ("param", "value", "message"),
    [
        ("networkPosture", "private", r"'private' is not an @allowed value of networkPosture"),
        ("logRetentionInDays", 5, r"logRetentionInDays needs a value >= 30, got 5"),
        ("logRetentionInDays", 5000, r"logRetentionInDays needs a value <= 730"),
        # azd passes "5000" for an int parameter as 5000 (armParameterFileValue: strconv.ParseInt), so the bound
        # applies; a string it cannot convert stays a string, which the int parameter refuses
        ("logRetentionInDays", "5000", r"logRetentionInDays needs a value <= 730"),
        ("logRetentionInDays", "thirty", r"logRetentionInDays expects int, got string"),
    ],
)
def test_a_parameter_its_declaration_rejects_stops_before_any_request(
    arm: ArmEmulator, repo: Path, kw: dict[str, Any], param: str, value: object, message: str
) -> None:
    _set_param(repo, param, value)
    arm.reset_log()
    with pytest.raises(ParameterError) as err:
        provision(repo, **kw)
    assert err.value.exit_code == 2
    assert re.search(r"^infra/main\.bicep:\d+: parameter " + message, str(err.value)), str(err.value)
    assert "nothing was written" in str(err.value)
    assert arm.writes() == 0


def test_a_module_parameter_out_of_bounds_names_the_module_file(
    arm: ArmEmulator, repo: Path, kw: dict[str, Any]
) -> None:
    (repo / "infra" / "modules" / "tagged.bicep").write_text(
        "@minLength(3)\n@maxLength(5)\nparam label string\n\noutput label string = label\n", encoding="utf-8"
    )
    _append(
        repo, "\nmodule tagged 'modules/tagged.bicep' = {\n  name: 'tagged'\n  params: {\n    label: 'ab'\n  }\n}\n"
    )
    arm.reset_log()
    with pytest.raises(ParameterError, match=r"modules/tagged\.bicep:3: parameter label needs length >= 3, got 2"):
        provision(repo, **kw)
    assert arm.writes() == 0


DUPLICATE = """
resource sa 'Microsoft.Storage/storageAccounts@2025-06-01' = {
  name: 'stdup${resourceToken}'
  location: location
  kind: 'StorageV2'
  sku: { name: 'Standard_LRS' }
}

resource sb 'Microsoft.Storage/storageAccounts@2025-06-01' = {
  name: 'stdup${resourceToken}'
  location: location
  kind: 'StorageV2'
  sku: { name: 'Standard_GRS' }
}
"""


def test_two_declarations_of_one_resource_id_are_an_error(arm: ArmEmulator, repo: Path, kw: dict[str, Any]) -> None:
    _append(repo, DUPLICATE)
    arm.reset_log()
    with pytest.raises(ProvisionError, match=r"infra/main\.bicep:\d+: .*stdup.* is already declared at infra/main"):
        provision(repo, **kw)
    assert arm.writes() == 0


def test_resource_group_location_is_the_existing_groups(arm: ArmEmulator, repo: Path, kw: dict[str, Any]) -> None:
    from scaffolder.provisioning.arm import Arm, Connection
    from scaffolder.provisioning.faults import Control
    from scaffolder.provisioning.plan import Target, resource_group_resource
    from tests.emulator import FakeCredential

    target = Target(arm.subscription_id, kw["resource_group"], "westus", kw["environment"])
    conn = Connection(FakeCredential(), arm.subscription_id, arm.url, arm.ca_path, 0)
    Arm(conn, Control()).put(resource_group_resource(target), target.resource_group, {"location": "westus"})
    _append(repo, "\noutput GROUP_LOCATION string = resourceGroup().location\n")
    result = provision(repo, **kw)
    assert result.outputs["GROUP_LOCATION"] == "westus"
    assert arm.writes() > 0


def _plan(repo: Path) -> Any:
    from scaffolder.provisioning.plan import Target, plan_from_bicep

    return plan_from_bicep(repo, Target("00000000-0000-0000-0000-000000000000", "rg-x", "eastus2", "dev"))


@pytest.mark.parametrize(
    "statement",
    ["import { foo } from 'modules/types.bicep'", "import * as types from 'modules/missing.bicep'"],
)
def test_a_statement_the_evaluator_does_not_follow_is_an_error(repo: Path, statement: str) -> None:
    main = repo / "infra" / "main.bicep"
    main.write_text(statement + "\n" + main.read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(ProvisionError, match=r"infra/main\.bicep:1: scaffolder cannot evaluate the statement `import"):
        _plan(repo)


def test_object_members_are_found_case_insensitively_as_in_arm(repo: Path) -> None:
    _append(repo, "\nvar shapes = {\n  Account: 'acct'\n}\noutput SHAPE string = shapes.account\n")
    assert _plan(repo).outputs["SHAPE"] == "acct"


NORMALISED = """
resource normalised 'Microsoft.Storage/storageAccounts@2025-06-01' = {
  name: 'stn${resourceToken}'
  location: 'East US 2'
  kind: 'StorageV2'
  sku: {
    name: 'standard_lrs'
  }
  properties: {
    accessTier: 'Hot'
    allowSharedKeyAccess: false
  }
}
"""


def _like_arm(resource: dict[str, Any]) -> None:
    """What a resource provider does to a body: canonical region and enum casing, a value it never returns."""
    resource["location"] = "".join(str(resource["location"]).split()).lower()
    resource["sku"]["name"] = "Standard_LRS"
    props = resource["properties"]
    props["accessTier"] = str(props.get("accessTier", "")).capitalize()
    props.pop("allowSharedKeyAccess", None)  # stands in for a write-only value (a Key Vault secret's value)


@pytest.mark.usefixtures("bicep_types_dir")  # skips for the shared reason when the type data is absent
def test_rerun_writes_nothing_when_arm_normalises_or_withholds_values(
    arm: ArmEmulator, repo: Path, kw: dict[str, Any]
) -> None:
    arm.normalisers["microsoft.storage/storageaccounts"] = _like_arm
    _append(repo, NORMALISED)
    provision(repo, **kw)
    arm.reset_log()
    again = provision(repo, **kw)
    assert [c.key for c in again.changes if c.action != "unchanged"] == []
    assert arm.writes() == 0
    # A real edit of a normalised property is still applied.
    main = repo / "infra" / "main.bicep"
    main.write_text(main.read_text(encoding="utf-8").replace("accessTier: 'Hot'", "accessTier: 'Cool'"))
    preview = provision(repo, preview=True, **kw)
    assert [(c.type, c.action) for c in preview.changes if c.action != "unchanged"] == [
        ("Microsoft.Storage/storageAccounts", "update")
    ]


def test_state_file_holds_digests_never_bodies(arm: ArmEmulator, repo: Path, kw: dict[str, Any]) -> None:
    _append(repo, "\n@secure()\nparam tagSecret string = 'hunter2-default'\n")
    provision(repo, **kw)
    state = (repo / ".azure" / kw["environment"] / "provision-state.json").read_text(encoding="utf-8")
    assert "hunter2" not in state
    assert '"normalised"' in state


@pytest.mark.parametrize(
    ("desired", "actual"),
    [
        ({"location": "East US 2"}, {"location": "eastus2"}),
        ({"sku": {"name": "standard_lrs"}}, {"sku": {"name": "Standard_LRS"}}),
        ({"properties": {"accessTier": "hot"}}, {"properties": {"accessTier": "Hot"}}),
    ],
)
def test_arm_normalised_spellings_are_no_difference(desired: dict[str, Any], actual: dict[str, Any]) -> None:
    from scaffolder.provisioning.engine import diff

    assert diff(desired, actual) == []


def test_case_matters_outside_enum_like_tokens() -> None:
    from scaffolder.provisioning.engine import diff

    assert diff({"tags": {"a": "X"}}, {"tags": {"a": "x"}}) == ["tags"]
    assert diff({"properties": {"text": "Hello world"}}, {"properties": {"text": "hello world"}}) == [
        "properties.text"
    ]


def test_json_after_apply_names_every_write_and_keeps_dependencies_apart(
    arm: ArmEmulator, repo: Path, kw: dict[str, Any]
) -> None:
    preview = provision(repo, preview=True, **kw).as_dict()
    waiting = [c for c in preview["changes"] if c["deferred"]]
    assert waiting, "a fresh group: resources under it wait for their parents"
    for change in waiting:
        assert change["differences"] == [] and change["after"], change
    applied = provision(repo, **kw).as_dict()
    for change in applied["changes"]:
        assert change["name"], change
        assert change["id"] and change["id"].lower().endswith(change["name"].lower()), change
    roles = [c for c in applied["changes"] if c["type"] == "Microsoft.Authorization/roleAssignments"]
    assert roles and all(re.fullmatch(r"[0-9a-f-]{36}", c["name"]) for c in roles)


def test_a_member_after_a_ternary_binds_to_the_last_alternative(repo: Path) -> None:
    # The tree-sitter grammar reads `c ? x : a.b` as `(c ? x : a).b`; Bicep means `c ? x : (a.b)`.
    _append(
        repo,
        "\nvar pick = {\n  b: 'inner'\n}\nvar whole = {\n  b: 'other'\n}\n"
        "output OTHER string = length(environmentName) > 100 ? 'x' : pick.b\n"
        "output FIRST string = length(environmentName) > 0 ? 'first' : pick.b\n",
    )
    plan = _plan(repo)
    assert plan.outputs["OTHER"] == "inner"
    assert plan.outputs["FIRST"] == "first"


TYPO_READ = """
resource z5 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
  name: 'id-z5'
  location: location
}

resource z6 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
  name: 'id-z6'
  location: location
  tags: { ep: z5.properties.noSuchProperty }
}
"""


def _line_of(repo: Path, text: str) -> int:
    lines = (repo / "infra" / "main.bicep").read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)


def test_a_misspelt_runtime_property_is_refused_before_any_request(
    arm: ArmEmulator, repo: Path, kw: dict[str, Any]
) -> None:
    _append(repo, TYPO_READ)
    line = _line_of(repo, "resource z6 ")
    with pytest.raises(ProvisionError) as caught:
        provision(repo, **kw)
    assert caught.value.exit_code == 6
    assert re.match(rf"infra/main\.bicep:{line}: .*z5\.properties\.noSuchProperty.*nothing was written",
                    caught.value.message), caught.value.message
    assert arm.writes() == 0


def test_a_read_arm_does_not_answer_is_one_error_naming_it(
    arm: ArmEmulator, repo: Path, kw: dict[str, Any]
) -> None:
    # No SDK model describes container registries, so the read is judged against ARM's answer: a clear error
    # at the reading declaration (never an AssertionError), and a re-run after the fix finishes the job.
    _append(repo, """
resource reg 'Microsoft.ContainerRegistry/registries@2025-04-01' = {
  name: 'crz5${uniqueString(resourceGroup().id)}'
  location: location
  sku: { name: 'Basic' }
  properties: { adminUserEnabled: false }
}

resource z7 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
  name: 'id-z7'
  location: location
  tags: { ep: reg.properties.noSuchProperty }
}
""")
    line = _line_of(repo, "resource z7 ")
    with pytest.raises(ProvisionError) as caught:
        provision(repo, **kw)
    assert caught.value.exit_code == 6
    assert re.match(rf"infra/main\.bicep:{line}: \S+ reads \S*reg\S*\.properties\.noSuchProperty, which ARM did not "
                    "return", caught.value.message), caught.value.message
    main = repo / "infra" / "main.bicep"
    main.write_text(main.read_text(encoding="utf-8").replace("noSuchProperty", "loginServer"), encoding="utf-8")
    assert provision(repo, **kw).applied


def test_a_bicepparam_file_is_refused_as_azd_would_use_it_instead(arm: ArmEmulator, repo: Path,
                                                                    kw: dict[str, Any]) -> None:
    (repo / "infra" / "main.bicepparam").write_text("using './main.bicep'\nparam modelDeployments = []\n", "utf-8")
    with pytest.raises(ProvisionError, match=r"^infra/main\.bicepparam:1: .*\.bicepparam file \(azd uses it instead "
                                             r"of main\.parameters\.json\); nothing was written"):
        provision(repo, **kw)
    assert not arm.requests, "refused before any request"


CREATE_ONLY = """
@onlyIfNotExists()
resource keep 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
  name: 'id-keep'
  location: location
  tags: { owner: 'first' }
}
"""


def test_only_if_not_exists_creates_once_and_never_updates(arm: ArmEmulator, repo: Path, kw: dict[str, Any]) -> None:
    _append(repo, CREATE_ONLY)
    provision(repo, **kw)
    made = [r for r in arm.of_type("Microsoft.ManagedIdentity/userAssignedIdentities") if r["name"] == "id-keep"]
    assert [r["tags"] for r in made] == [{"owner": "first"}]
    main = repo / "infra" / "main.bicep"
    main.write_text(main.read_text(encoding="utf-8").replace("owner: 'first'", "owner: 'second'"), "utf-8")
    arm.reset_log()
    result = provision(repo, **kw)
    assert next(c for c in result.changes if c.key == "keep").action == "unchanged"
    assert arm.writes() == 0
    kept = [r for r in arm.of_type("Microsoft.ManagedIdentity/userAssignedIdentities") if r["name"] == "id-keep"]
    assert [r["tags"] for r in kept] == [{"owner": "first"}]


@pytest.mark.parametrize(
    ("bicep", "shown"),
    [
        ("resource ids 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = "
         "[for n in [account.outputs.name]: {\n  name: 'id-${n}'\n  location: location\n}]",
         "a loop over `account.outputs.name`"),
        ("var acct = account.outputs.name\nresource one 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' "
         "= if (!empty(acct)) {\n  name: 'id-one'\n  location: location\n}", "a condition over `account.outputs.name`"),
    ],
)
def test_a_loop_or_condition_over_module_outputs_is_refused_like_the_compiler(
    arm: ArmEmulator, repo: Path, kw: dict[str, Any], bicep: str, shown: str
) -> None:
    _append(repo, "\n" + bicep + "\n")
    with pytest.raises(ProvisionError) as caught:
        provision(repo, **kw)
    assert re.match(r"infra/main\.bicep:\d+: scaffolder cannot evaluate ", caught.value.message)
    assert shown in caught.value.message and "start of the deployment" in caught.value.message
    assert arm.writes() == 0


TINY = "param label string\noutput label string = label\n"
MODS = """
module mods 'modules/tiny.bicep' = [for i in range(0, 2): {
  name: 'tiny-${i}'
  params: { label: 'x${i}' }
}]
module one 'modules/tiny.bicep' = {
  name: 'tiny-one'
  params: { label: 'y' }
}
resource known 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
  name: 'id-known'
  location: location
}
"""


def _loop_over(source: str) -> str:
    # In a call, not an array literal: tree-sitter-bicep reads `[mods[0]]` as two array items.
    return (f"resource ids 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = [for n in split({source}, "
            "'/'): {\n  name: 'id-${n}'\n  location: location\n}]\n")


@pytest.mark.parametrize(
    ("source", "key", "name"),
    [
        ("mods[0].name", "ids[0]", "id-tiny-0"),  # a module collection's instance name is known at the start
        ("mods[1]['name']", "ids[0]", "id-tiny-1"),
        ("one.name", "ids[0]", "id-tiny-one"),
        ("known.name", "ids[0]", "id-id-known"),
        ("known.type", "ids[1]", "id-userAssignedIdentities"),
        ("known.apiVersion", "ids[0]", "id-2024-11-30"),
        ("known.id", "ids[8]", "id-id-known"),
    ],
)
def test_a_loop_over_names_known_at_the_start_is_followed(repo: Path, source: str, key: str, name: str) -> None:
    (repo / "infra" / "modules" / "tiny.bicep").write_text(TINY, encoding="utf-8")
    _append(repo, MODS + _loop_over(source))
    assert _plan(repo).get(key).name == name


@pytest.mark.parametrize(
    "source",
    ["mods[0].outputs.label", "mods[1]['outputs'].label", "one.outputs.label", "known.properties.principalId",
     "known['properties'].clientId", "toUpper(mods[0].outputs.label)", "mods[0].outputs['label']"],
)
def test_a_loop_over_outputs_or_properties_is_refused_like_the_compiler(repo: Path, source: str) -> None:
    (repo / "infra" / "modules" / "tiny.bicep").write_text(TINY, encoding="utf-8")
    _append(repo, MODS + _loop_over(source))
    with pytest.raises(ProvisionError, match=r"main\.bicep:\d+: scaffolder cannot evaluate a loop over `") as caught:
        _plan(repo)
    assert "start of the deployment" in caught.value.message


@pytest.mark.parametrize(
    ("declaration", "shown"),
    [
        ("resource late 'Microsoft.ManagedIdentity/userAssignedIdentities@2099-01-01' = {",
         r"Microsoft\.ManagedIdentity/userAssignedIdentities@2099-01-01 is not an API version ARM offers"),
        ("resource late 'Microsoft.ManagedIdentity/userAssignedIdentitees@2024-11-30' = {",
         r"ARM has no resource type Microsoft\.ManagedIdentity/userAssignedIdentitees"),
    ],
)
def test_an_api_version_or_type_arm_does_not_offer_stops_before_any_write(
    arm: ArmEmulator, repo: Path, kw: dict[str, Any], declaration: str, shown: str
) -> None:
    # Declared last, so a run that only found out when it got there would have written everything else first.
    _append(repo, f"\n{declaration}\n  name: 'id-late'\n  location: location\n}}\n")
    line = _line_of(repo, declaration)
    with pytest.raises(ProvisionError) as caught:
        provision(repo, **kw)
    assert re.match(rf"infra/main\.bicep:{line}: {shown}; nothing was written", caught.value.message), (
        caught.value.message
    )
    assert caught.value.exit_code == 6
    assert arm.writes() == 0


@pytest.mark.parametrize(
    ("line", "shown"),
    [
        ("var spread = { ...tags, team: 'x' }", "the spread operator `...`"),
        ("var broken = concat('a', ", "a syntax error"),
    ],
)
def test_a_syntax_error_is_reported_at_its_own_line(repo: Path, line: str, shown: str) -> None:
    main = repo / "infra" / "main.bicep"
    lines = main.read_text(encoding="utf-8").splitlines()
    at = len(lines) // 2  # in the middle, away from line 1
    lines.insert(at, line)
    main.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ProvisionError) as caught:
        _plan(repo)
    assert caught.value.message.startswith(f"infra/main.bicep:{at + 1}: scaffolder cannot evaluate {shown}"), (
        caught.value.message
    )


def test_destroy_refuses_with_its_own_words(arm: ArmEmulator, repo: Path, kw: dict[str, Any]) -> None:
    provision(repo, **kw)
    _append(repo, "\nvar stamp = utcNow()\noutput STAMP string = stamp\n")
    arm.reset_log()
    with pytest.raises(ProvisionError) as caught:
        destroy(repo, **kw)
    assert caught.value.message.endswith("; nothing was deleted"), caught.value.message
    assert "azd down" in (caught.value.hint or "") and "azd up" not in (caught.value.hint or "")
    assert arm.writes() == 0


def test_a_module_output_that_does_not_exist_is_named_as_such(repo: Path) -> None:
    _append(repo, "\noutput NOPE string = account.outputs.noSuchOutput\n")
    line = _line_of(repo, "output NOPE")
    with pytest.raises(ProvisionError) as caught:
        _plan(repo)
    message = caught.value.message
    assert message.startswith(f"infra/main.bicep:{line}: module account has no output `noSuchOutput` (it declares: "), (
        message
    )
    assert "cannot evaluate" not in message and caught.value.exit_code == 6
