"""The plan from the evaluated Bicep: Bicep functions, names, role-assignment names and dependency order."""

from __future__ import annotations

import hashlib
import itertools
import uuid
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scaffolder import infra
from scaffolder.provisioning import registry
from scaffolder.provisioning.plan import ResourcePlan, Target, plan_from_bicep, runtime_reads
from scaffolder.spec import ProjectSpec
from scaffolder.validate import Deferred
from scaffolder.validate.bicepfn import ARM_GUID_NAMESPACE, guid, unique_string
from tests.helpers import make_spec
from tests.provision.provkit import write_repo

# Published uniqueString vectors: a public port's self-test ("verified against Bicep uniqueString() output"),
# and microsoft/commercial-marketplace-offer-deploy's test against a value an ARM deployment returned.
UNIQUE_STRING_VECTORS = [
    (("test",), "rbgf3xv4ufgzg"),
    (("hello", "world"), "a7wkljktk6wne"),
    (("abc",), "cgtzqvhu4i23s"),
    (("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/my-rg",), "bmg7c6xu4tw46"),
    (("foo", "bar", "baz"), "xzi4ioaxtmth4"),
    (
        (
            "/subscriptions/31e9f9a0-9fd2-4294-a0a3-0101246d9700/resourceGroups/rg-modm201-20230913120256"
            "/providers/Microsoft.Compute/virtualMachines/bobjacmodm201",
        ),
        "yvjxno3je5on2",
    ),
]

TARGET = Target("00000000-0000-4000-8000-0000000000aa", "rg-demo", "eastus2", "dev", principal_id="dev-oid")


@pytest.mark.parametrize(("args", "expected"), UNIQUE_STRING_VECTORS)
def test_unique_string_matches_published_vectors(args: tuple[str, ...], expected: str) -> None:
    assert unique_string(*args) == expected


@given(st.lists(st.text(max_size=40), min_size=1, max_size=4))
def test_unique_string_shape(values: list[str]) -> None:
    out = unique_string(*values)
    assert len(out) == 13
    assert set(out) <= set("abcdefghijklmnopqrstuvwxyz234567")
    assert unique_string("-".join(values)) == out  # arguments are joined with '-' before hashing


def _guid_like_the_csharp_port(*values: str) -> str:
    # Independent of uuid.uuid5: SHA-1 over the namespace in RFC byte order, then version 5 and variant bits.
    digest = bytearray(hashlib.sha1(ARM_GUID_NAMESPACE.bytes + "-".join(values).encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50
    digest[8] = (digest[8] & 0x3F) | 0x80
    return str(uuid.UUID(bytes=bytes(digest)))


@given(st.lists(st.text(max_size=30), min_size=1, max_size=3))
def test_guid_is_arm_namespace_uuid5(values: list[str]) -> None:
    value = guid(*values)
    assert value == _guid_like_the_csharp_port(*values)
    assert uuid.UUID(value).version == 5


def test_functions_refuse_no_arguments() -> None:
    with pytest.raises(ValueError):
        unique_string()
    with pytest.raises(ValueError):
        guid()


def _plan(spec: ProjectSpec, tmp_path: Path, target: Target = TARGET) -> ResourcePlan:
    return plan_from_bicep(write_repo(tmp_path / "repo", spec), target)


def test_names_follow_bicep_and_infra(tmp_path: Path) -> None:
    spec = make_spec("agents", hosting="none")
    plan = _plan(spec, tmp_path)
    token = unique_string(TARGET.resource_group_id, "dev").lower()
    names = infra.resource_names(spec, "dev", "eastus2", token)
    assert plan.get("account.account").name == names["account"] == f"demo-{token}"
    assert plan.get("appIdentity.identity").name == names["identity"] == f"id-demo-{token}"
    assert plan.get("monitoring.workspace").name == names["logAnalytics"]
    assert plan.get("monitoring.appInsights").name == names["appInsights"]


def test_every_resource_uses_the_registry_api_version_and_tags(tmp_path: Path) -> None:
    plan = _plan(make_spec("agents", hosting="none", tags={"team": "ai"}), tmp_path)
    for res in plan.resources:
        entry = registry.lookup(res.type)
        assert entry is not None and res.api_version == entry.api_version, res.key
        if "tags" in res.body and res.key != "resourceGroup":
            assert res.body["tags"] == {"team": "ai", "azd-env-name": "dev"}
    assert plan.get("resourceGroup").body["tags"] == {"azd-env-name": "dev"}


def test_role_assignment_names_are_guid_of_scope_principal_role(tmp_path: Path) -> None:
    plan = _plan(make_spec("agents", hosting="none"), tmp_path)
    project_id = plan.get("project.project").id_for("demo")
    dev = plan.get("developerRoles.projectAssignment[0]")
    assert dev.parent_id == project_id and dev.extension
    assert plan.resolve(dev.name, {}) == guid(project_id, "dev-oid", "53ca6127-db72-4b80-b1b0-d745d6d5456d")
    app = plan.get("appRoles.projectAssignment[0]")
    assert isinstance(app.name, Deferred) and app.name.fn == "guid"
    identity = plan.get("appIdentity.identity")
    identity_id = identity.id_for(str(identity.name)).lower()
    reads = [(r.rid.lower(), r.path) for r in runtime_reads(app.name)]
    assert reads == [(identity_id, ("properties", "principalId"))]
    role = "53ca6127-db72-4b80-b1b0-d745d6d5456d"
    assert str(app.name) == f"guid('{project_id}', <identity.properties.principalId>, '{role}')"
    states = {"appIdentity.identity": {"properties": {"principalId": "app-oid"}}}
    assert plan.resolve(app.name, states) == guid(project_id, "app-oid", "53ca6127-db72-4b80-b1b0-d745d6d5456d")
    assert plan.resolve(app.body, states)["properties"]["principalId"] == "app-oid"
    with pytest.raises(KeyError, match=r"<identity\.properties\.principalId>"):
        plan.resolve(app.name, {})
    assert "appIdentity.identity" in app.depends_on and "project.project" in app.depends_on


def test_no_developer_roles_without_principal_and_no_monitoring_when_off(tmp_path: Path) -> None:
    plan = _plan(make_spec("responses", hosting="none", monitoring=False),
                 tmp_path, Target("s", "rg", "eastus2", "dev"))
    assert not [k for k in plan.keys if k.startswith("developerRoles.")]
    assert not [k for k in plan.keys if k.startswith("monitoring.")]
    assert plan.outputs["APPLICATIONINSIGHTS_CONNECTION_STRING"] == ""


def test_dependency_order_and_deployments_one_at_a_time(tmp_path: Path) -> None:
    plan = _plan(make_spec("responses", hosting="none", models=["gpt-5.4-mini", "gpt-5.4", "gpt-5.2"]), tmp_path)
    position = {k: i for i, k in enumerate(plan.keys)}
    for res in plan.resources:
        assert all(position[d] < position[res.key] for d in res.depends_on)
    deps = [plan.get(f"deployments.modelDeployment[{i}]") for i in range(3)]
    assert [str(d.name) for d in deps] == ["gpt-5.4-mini", "gpt-5.4", "gpt-5.2"]
    assert "project.project" in deps[0].depends_on  # the module's dependsOn: [project]
    for before, after in itertools.pairwise(deps):
        assert before.key in after.depends_on  # @batchSize(1) and one write per account


def test_ip_restricted_network_acls(tmp_path: Path) -> None:
    spec = make_spec("responses", hosting="none", network="ip-restricted", allow_ips=["20.30.40.50", "52.10.0.0/16"])
    acls = _plan(spec, tmp_path).get("account.account").body["properties"]["networkAcls"]
    assert acls["defaultAction"] == "Deny"
    assert acls["ipRules"] == [{"value": "20.30.40.50"}, {"value": "52.10.0.0/16"}]


def test_restore_flag_reaches_the_account_and_is_write_only(tmp_path: Path) -> None:
    repo = write_repo(tmp_path / "repo", make_spec("responses", hosting="none"))
    restored = plan_from_bicep(repo, Target(TARGET.subscription_id, "rg-demo", "eastus2", "dev", restore=True))
    account = restored.get("account.account")
    assert account.body["properties"]["restore"] is True
    assert "properties.restore" in account.write_only
