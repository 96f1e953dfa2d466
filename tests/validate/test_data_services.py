"""Azure AI Search in the generated Bicep: keyless, types, policies, RBAC by GUID, deployment order, checkov."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from scaffolder import catalog, infra
from scaffolder._new import resolve_spec
from scaffolder.spec import ProjectSpec
from scaffolder.validate import (
    BicepTypes,
    Checkov,
    check_policies,
    check_rendered_types,
    check_semantics,
    check_syntax,
    check_types,
    load_project,
    render,
)
from scaffolder.validate._deploy import Scope, UnsupportedBicep, evaluate
from scaffolder.validate._eval import to_plain
from tests.validate.cases import ALLOW_IP, write_repo

SUB = "00000000-0000-0000-0000-0000000000aa"
GROUP = "rg-test"
SCOPE = Scope(SUB, GROUP, "eastus2")
DEVELOPER = "11111111-1111-1111-1111-111111111111"
ENV = {"AZURE_ENV_NAME": "dev", "AZURE_PRINCIPAL_ID": DEVELOPER}
SEARCH_TYPE = "Microsoft.Search/searchServices"
ROLES = catalog.roles()


def _search_id(group: str = GROUP, sub: str = SUB, name: str = "shared-search") -> str:
    return f"/subscriptions/{sub}/resourceGroups/{group}/providers/{SEARCH_TYPE}/{name}"


def _repo(tmp_path: Path, *, network: str = "public", existing: str = "", roles: bool = True) -> Path:
    """A generated agents repo with main.bicep's aiSearch turned on, as a tool that needs search does."""
    extra: dict[str, Any] = {"allow_ips": [ALLOW_IP]} if network == "ip-restricted" else {}
    spec = resolve_spec(name="srch-app", runtime="agents", location="eastus2", network=network, **extra)
    repo = write_repo(spec, tmp_path / "repo")
    path = repo / "infra" / "main.parameters.json"
    doc = json.loads(path.read_text())
    params = doc["parameters"]
    params["aiSearch"] = {"value": True}
    params["aiSearchResourceId"] = {"value": existing}
    if roles:
        params["appSearchRoles"] = {"value": ["searchIndexDataReader"]}
        params["projectSearchRoles"] = {"value": ["searchIndexDataReader"]}
        params["developerSearchRoles"] = {"value": ["searchIndexDataContributor", "searchServiceContributor"]}
    path.write_text(json.dumps(doc, indent=2))
    return repo


def _rendered(repo: Path, type_: str) -> list[dict[str, Any]]:
    out = []
    for res in render(load_project(repo)):
        if res.type == type_:
            body = to_plain(res.body)
            assert isinstance(body, dict)
            out.append(body)
    return out


def test_default_repo_has_no_search_and_passes_the_parameters(tmp_path: Path) -> None:
    spec = resolve_spec(name="plain-app", runtime="agents", location="eastus2")
    params = infra.bicep_parameters(spec)
    assert params["aiSearch"] is False and params["aiSearchResourceId"] == ""
    assert params["appSearchRoles"] == params["projectSearchRoles"] == params["developerSearchRoles"] == []
    repo = write_repo(spec, tmp_path / "repo")
    assert _rendered(repo, SEARCH_TYPE) == []
    outputs = evaluate(repo, SCOPE, ENV).resources
    assert not [r for r in outputs if "search" in r.key.lower()]


@pytest.mark.parametrize("network", ["public", "ip-restricted"])
def test_search_service_is_keyless_typed_and_policy_clean(network: str, tmp_path: Path, types_dir: Path) -> None:
    repo = _repo(tmp_path, network=network)
    project = load_project(repo)
    assert check_syntax(project) == []
    assert check_semantics(project) == []
    assert check_policies(project) == []
    backend = BicepTypes(types_dir)
    assert check_types(project, backend) == []
    assert check_rendered_types(project, backend) == []
    [service] = _rendered(repo, SEARCH_TYPE)
    props = service["properties"]
    assert props["disableLocalAuth"] is True
    assert "authOptions" not in props  # the API refuses authOptions together with disableLocalAuth
    assert service["sku"] == {"name": "basic"}
    assert re.fullmatch(r"srch-srch-app-[a-z0-9]{13}", service["name"])
    if network == "ip-restricted":
        assert props["networkRuleSet"] == {"ipRules": [{"value": ALLOW_IP}], "bypass": "AzureServices"}
    else:
        assert props["networkRuleSet"] == {"ipRules": [], "bypass": "None"}


def _search_assignments(repo: Path) -> dict[str, list[dict[str, Any]]]:
    by_module: dict[str, list[dict[str, Any]]] = {}
    for res in evaluate(repo, SCOPE, ENV).resources:
        if res.type == "Microsoft.Authorization/roleAssignments" and res.key.startswith("searchRoles."):
            by_module.setdefault(res.key.split(".")[1].split("[")[0], []).append(to_plain_body(res))
    return by_module


def to_plain_body(res: Any) -> dict[str, Any]:
    body = res.body if isinstance(res.body, dict) else to_plain(res.body)
    assert isinstance(body, dict)
    return body


def test_roles_are_granted_by_guid_on_the_search_service_after_it_exists(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    resources = evaluate(repo, SCOPE, ENV).resources
    [service] = [r for r in resources if r.type == SEARCH_TYPE]
    grants = [r for r in resources if r.key.startswith("searchRoles.")]
    assert len(grants) == 4
    for grant in grants:
        assert service.key in grant.depends_on, "roles wait for the service they are scoped to"
    role_ids = {
        str(to_plain_body(g)["properties"]["roleDefinitionId"]).rsplit("/", 1)[1] for g in grants
    }
    assert role_ids == {
        ROLES["search-index-data-reader"].id,
        ROLES["search-index-data-contributor"].id,
        ROLES["search-service-contributor"].id,
    }
    developer = [to_plain_body(g)["properties"] for g in grants if g.key.startswith("searchRoles.developer")]
    assert {d["principalId"] for d in developer} == {DEVELOPER}
    assert {d["principalType"] for d in developer} == {"User"}


def test_without_a_deploying_principal_only_the_identities_get_search_roles(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    resources = evaluate(repo, SCOPE, {"AZURE_ENV_NAME": "dev"}).resources
    keys = sorted(r.key for r in resources if r.key.startswith("searchRoles."))
    assert keys == ["searchRoles.appAssignment[0]", "searchRoles.projectAssignment[0]"]


def test_an_existing_service_in_this_group_gets_roles_and_nothing_is_created(tmp_path: Path, types_dir: Path) -> None:
    repo = _repo(tmp_path, existing=_search_id())
    assert _rendered(repo, SEARCH_TYPE) == []
    project = load_project(repo)
    assert check_rendered_types(project, BicepTypes(types_dir)) == []
    resources = evaluate(repo, SCOPE, ENV).resources
    grants = [r for r in resources if r.key.startswith("searchRoles.")]
    assert len(grants) == 4
    # scoped to the existing service: its id is the assignment's parent
    assert {g.parent_id for g in grants} == {_search_id()}


def test_an_existing_service_elsewhere_is_deployed_to_its_group_which_provision_does_not_follow(
    tmp_path: Path,
) -> None:
    other = _search_id(group="rg-shared", sub="00000000-0000-0000-0000-0000000000bb")
    repo = _repo(tmp_path, existing=other)
    main = (repo / "infra" / "main.bicep").read_text()
    assert "scope: resourceGroup(searchIdParts[2], searchIdParts[4])" in main
    # azd deploys the cross-group module; scaffolder's evaluator says plainly that it does not
    with pytest.raises(UnsupportedBicep, match=r"resourceGroup\(\.\.\.\) of another resource group"):
        evaluate(repo, SCOPE, ENV)


def test_outputs_name_the_search_service(tmp_path: Path) -> None:
    text = (_repo(tmp_path) / "infra" / "main.bicep").read_text()
    for name in ("AZURE_AI_SEARCH_ENDPOINT", "AZURE_AI_SEARCH_ID", "AZURE_AI_SEARCH_NAME"):
        assert re.search(rf"^output {name} string = aiSearch \?", text, flags=re.MULTILINE)
        assert name in catalog.envvars()


def test_search_role_map_matches_roles_yaml() -> None:
    text = (Path(__file__).resolve().parents[2] / "bicep" / "modules" / "ai-search-roles.bicep").read_text()
    pairs = re.findall(r"//\s*(?P<name>[^:\n]+):[^\n]*\n\s*(?P<key>\w+): '(?P<guid>[0-9a-f-]{36})'", text)
    by_key = {infra.BICEP_ROLE_KEYS[k]: r for k, r in ROLES.items() if k.startswith("search-")}
    assert {key for _, key, _ in pairs} == set(by_key)
    for name, key, guid in pairs:
        assert by_key[key].id == guid and by_key[key].name == name.strip()


def test_existing_search_id_is_validated() -> None:
    spec = resolve_spec(name="plain-app", runtime="agents", location="eastus2")
    for bad, why in [
        ("/subscriptions/x", "is not an ARM resource id"),
        (_search_id().replace(SEARCH_TYPE, "Microsoft.Storage/storageAccounts"), "not a Microsoft.Search"),
    ]:
        with pytest.raises(ValueError, match=why):
            ProjectSpec.model_validate({**spec.model_dump(), "existing": {"search": bad}})
    with pytest.raises(ValueError, match="nothing in this repo uses Azure AI Search"):
        ProjectSpec.model_validate({**spec.model_dump(), "existing": {"search": _search_id()}})


@pytest.mark.slow
def test_search_modules_pass_checkov(tmp_path: Path, checkov: Checkov) -> None:
    repo = _repo(tmp_path, network="ip-restricted")
    names = ["infra/modules/ai-search.bicep", "infra/modules/ai-search-roles.bicep", "infra/main.bicep"]
    reports = checkov.scan([(n, (repo / n).read_bytes()) for n in names])
    for report in reports:
        assert report.parsing_errors == 0, report.file
        assert report.failed() == [], report.file
    [search] = [r for r in reports if r.file.endswith("ai-search.bicep")]
    skipped = {r.check_id for r in search.records if r.result == "skipped"}
    assert skipped == {"CKV_AZURE_208", "CKV_AZURE_209"}  # replica SLAs, each skip with its reason in the file
    assert search.resource_count >= 1  # checkov parsed the service (not an empty scan)
