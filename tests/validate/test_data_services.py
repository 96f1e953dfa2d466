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
    Scope,
    UnsupportedBicep,
    check_rendered_types,
    evaluate,
    load_project,
    render,
)
from scaffolder.validate._eval import to_plain
from tests.validate.cases import ALLOW_IP, assert_offline_layers_clean, write_repo

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
    # ip-restricted refuses container-apps hosting (the Foundry firewall would block the app)
    extra: dict[str, Any] = {"allow_ips": [ALLOW_IP], "hosting": "none"} if network == "ip-restricted" else {}
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
    assert_offline_layers_clean(repo, types_dir)
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


def test_standard_setup_role_guids_match_roles_yaml() -> None:
    modules = Path(__file__).resolve().parents[2] / "bicep" / "modules"
    text = (modules / "agent-setup-roles.bicep").read_text() + (modules / "agent-setup-data-roles.bicep").read_text()
    found = dict(re.findall(r"(\w+): '([0-9a-f-]{36})'", text))
    found.update(re.findall(r"var (\w+) = '([0-9a-f-]{36})'", text))
    for key, _scope in infra.STANDARD_SETUP_GRANTS:
        if key.startswith("search-"):
            continue  # ai-search-roles.bicep (test_search_role_map_matches_roles_yaml)
        assert found[infra.BICEP_ROLE_KEYS[key]] == ROLES[key].id, key


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


# -- standard agent setup -------------------------------------------------------------------------------------------

STANDARD_TYPES = {
    "Microsoft.DocumentDB/databaseAccounts",
    "Microsoft.Storage/storageAccounts",
    SEARCH_TYPE,
    "Microsoft.CognitiveServices/accounts/capabilityHosts",
    "Microsoft.CognitiveServices/accounts/projects/capabilityHosts",
    "Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments",
}


def _standard_repo(tmp_path: Path, **extra: Any) -> tuple[ProjectSpec, Path]:
    spec = resolve_spec(name="std-agent", runtime="agents", location="eastus2", agent_setup="standard", **extra)
    return spec, write_repo(spec, tmp_path / "repo")


def test_standard_setup_parameters_follow_the_spec() -> None:
    spec = resolve_spec(name="std-agent", runtime="agents", location="eastus2", agent_setup="standard")
    params = infra.bicep_parameters(spec)
    assert params["agentSetup"] == "standard" and params["aiSearch"] is True
    assert params["projectSearchRoles"] == ["searchIndexDataContributor", "searchServiceContributor"]
    assert params["appSearchRoles"] == params["developerSearchRoles"] == []
    basic = infra.bicep_parameters(resolve_spec(name="std-agent", runtime="agents", location="eastus2"))
    assert basic["agentSetup"] == "basic" and basic["aiSearch"] is False


def test_standard_setup_is_typed_policy_clean_and_keyless(tmp_path: Path, types_dir: Path) -> None:
    _, repo = _standard_repo(tmp_path)
    assert_offline_layers_clean(repo, types_dir)
    [cosmos] = _rendered(repo, "Microsoft.DocumentDB/databaseAccounts")
    assert cosmos["properties"]["disableLocalAuth"] is True
    assert cosmos["properties"]["disableKeyBasedMetadataWriteAccess"] is True
    [storage] = _rendered(repo, "Microsoft.Storage/storageAccounts")
    assert storage["properties"]["allowSharedKeyAccess"] is False
    assert storage["properties"]["allowBlobPublicAccess"] is False
    assert re.fullmatch(r"[a-z0-9]{3,24}", storage["name"])
    [search] = _rendered(repo, SEARCH_TYPE)
    assert search["properties"]["disableLocalAuth"] is True
    connections = {
        c["name"]: c["properties"] for c in _rendered(repo, "Microsoft.CognitiveServices/accounts/projects/connections")
    }
    agent_connections = {k: v for k, v in connections.items() if k.startswith("agent-")}
    assert {k: (v["category"], v["authType"]) for k, v in agent_connections.items()} == {
        "agent-threads": ("CosmosDb", "AAD"),
        "agent-files": ("AzureStorageAccount", "AAD"),
        "agent-vectors": ("CognitiveSearch", "AAD"),
    }
    assert all("credentials" not in v for v in agent_connections.values())
    [host] = _rendered(repo, "Microsoft.CognitiveServices/accounts/projects/capabilityHosts")
    assert host["properties"] == {
        "threadStorageConnections": ["agent-threads"],
        "storageConnections": ["agent-files"],
        "vectorStoreConnections": ["agent-vectors"],
    }
    [account_host] = _rendered(repo, "Microsoft.CognitiveServices/accounts/capabilityHosts")
    assert account_host["properties"] == {"capabilityHostKind": "Agents"}


def _role_id(res: Any) -> str:
    return str(to_plain_body(res)["properties"]["roleDefinitionId"]).rsplit("/", 1)[1]


def test_standard_setup_order_roles_then_capability_host_then_data_roles(tmp_path: Path) -> None:
    _, repo = _standard_repo(tmp_path)
    resources = evaluate(repo, SCOPE, ENV).resources
    by_key = {r.key: r for r in resources}
    assert {r.type for r in resources} >= STANDARD_TYPES
    project_host = by_key["capabilityHost.projectHost"]
    account_host = by_key["capabilityHost.accountHost"]
    before = [r for r in resources if r.key.startswith(("agentSetupRoles.", "searchRoles."))]
    after = [r for r in resources if r.key.startswith("agentSetupDataRoles.")]
    assert {_role_id(r) for r in before} == {
        ROLES["cosmos-db-operator"].id,
        ROLES["storage-blob-data-contributor"].id,
        ROLES["search-index-data-contributor"].id,
        ROLES["search-service-contributor"].id,
    }
    for role in before:  # the template: roles "must be assigned before the caphost is created"
        assert role.key in project_host.depends_on and role.key in account_host.depends_on
    assert account_host.key in project_host.depends_on
    assert {r.key.split(".")[1] for r in after} == {"blobOwner", "threadData"}
    for role in after:
        assert project_host.key in role.depends_on
    # every write to the Foundry account waits for the model deployments and the other connections
    assert "deployments.modelDeployment[0]" in account_host.depends_on
    assert "appInsightsConnection.connection" in by_key["capabilityHost.threadStorage"].depends_on


def test_standard_setup_grants_are_scoped_data_roles_never_owner_of_an_account(tmp_path: Path) -> None:
    spec, repo = _standard_repo(tmp_path)
    resources = evaluate(repo, SCOPE, ENV).resources
    owner_like = {"8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "b24988ac-6180-42a0-ab88-20f7382dd24c"}  # Owner, Contributor
    assigned = [r for r in resources if r.type == "Microsoft.Authorization/roleAssignments"]
    assert not {_role_id(r) for r in assigned} & owner_like
    [blob_owner] = [r for r in resources if r.key == "agentSetupDataRoles.blobOwner"]
    props = to_plain_body(blob_owner)["properties"]
    assert _role_id(blob_owner) == ROLES["storage-blob-data-owner"].id
    assert props["conditionVersion"] == "2.0"
    assert "StringLikeIgnoreCase '*-azureml-agent'" in props["condition"]
    [sql] = [r for r in resources if r.type == "Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments"]
    sql_props = to_plain_body(sql)["properties"]
    [cosmos] = [r for r in resources if r.type == "Microsoft.DocumentDB/databaseAccounts"]
    cosmos_id = f"/subscriptions/{SUB}/resourceGroups/{GROUP}/providers/{cosmos.type}/{cosmos.name}"
    assert sql_props["scope"] == f"{cosmos_id}/dbs/enterprise_memory"  # the agent database, not the account
    assert sql_props["roleDefinitionId"].endswith(ROLES["cosmos-db-built-in-data-contributor"].id)
    # the README lists every grant with its reason and GUID
    from scaffolder.generate import plan_files

    readme = plan_files(spec).text("README.md")
    for grant in infra.grants(spec):
        assert f"{grant.role.name} (`{grant.role.id}`) | {grant.scope} | {grant.role.grants} |" in readme


def test_standard_setup_with_an_existing_search_service(tmp_path: Path) -> None:
    spec, repo = _standard_repo(tmp_path, existing={"search": _search_id()})
    assert infra.bicep_parameters(spec)["aiSearchResourceId"] == _search_id()
    assert _rendered(repo, SEARCH_TYPE) == []
    resources = evaluate(repo, SCOPE, ENV).resources
    [vectors] = [r for r in resources if r.key == "capabilityHost.vectorStore"]
    props = to_plain_body(vectors)["properties"]
    assert props["metadata"]["ResourceId"] == _search_id()
    assert props["target"] == "https://shared-search.search.windows.net"


@pytest.mark.parametrize(
    ("extra", "why"),
    [
        ({"runtime": "responses"}, "the responses runtime does not use it"),
        ({"network": "ip-restricted", "allow_ips": [ALLOW_IP]}, "needs --network public"),
    ],
)
def test_standard_setup_misuse_is_one_clear_error(extra: dict[str, Any], why: str) -> None:
    from scaffolder.errors import ScaffolderError

    values = {"name": "std-agent", "runtime": "agents", "location": "eastus2", "agent_setup": "standard", **extra}
    with pytest.raises(ScaffolderError, match=why) as err:
        resolve_spec(**values)
    assert err.value.exit_code == 2


@pytest.mark.slow
def test_standard_setup_modules_pass_checkov(tmp_path: Path, checkov: Checkov) -> None:
    _, repo = _standard_repo(tmp_path)
    names = [
        "infra/main.bicep",
        "infra/modules/cosmos-db.bicep",
        "infra/modules/storage-account.bicep",
        "infra/modules/agent-setup-roles.bicep",
        "infra/modules/agent-capability-host.bicep",
        "infra/modules/agent-setup-data-roles.bicep",
    ]
    reports = checkov.scan([(n, (repo / n).read_bytes()) for n in names])
    for report in reports:
        assert report.parsing_errors == 0, report.file
        assert report.failed() == [], (report.file, [r.check_id for r in report.failed()])
    skipped = {r.check_id for report in reports for r in report.records if r.result == "skipped"}
    assert skipped == {
        "CKV_AZURE_99", "CKV_AZURE_101",  # Cosmos DB: public posture
        "CKV_AZURE_35", "CKV_AZURE_59", "CKV_AZURE_206",  # Storage: public posture, locally redundant
    }


def test_cli_agent_setup_and_existing(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from scaffolder.cli import app

    runner = CliRunner()
    ok = runner.invoke(app, ["new", "std-cli", "--runtime", "agents", "--agent-setup", "standard", "--existing",
                             f"search={_search_id()}", "--no-input", "--no-git", "-o", str(tmp_path)])
    assert ok.exit_code == 0, ok.output
    answers = (tmp_path / "std-cli" / ".scaffolder.yml").read_text()
    assert "agent_setup: standard" in answers and _search_id() in answers
    params = json.loads((tmp_path / "std-cli" / "infra" / "main.parameters.json").read_text())["parameters"]
    assert params["agentSetup"]["value"] == "standard"
    assert params["aiSearchResourceId"]["value"] == _search_id()
    for args, message in [
        (["--existing", "vault=/x"], "kinds: search"),
        (["--existing", "search=/subscriptions/x"], "is not an ARM resource id"),
        (["--agent-setup", "standard", "--network", "ip-restricted", "--allow-ip", ALLOW_IP], "needs --network public"),
        (["--agent-setup", "premium"], "premium"),
    ]:
        bad = runner.invoke(app, ["new", "std-bad", "--runtime", "agents", *args, "--no-input", "--no-git",
                                  "-o", str(tmp_path)])
        assert bad.exit_code == 2, (args, bad.output)
        assert message in bad.output, (args, bad.output)
        assert not (tmp_path / "std-bad").exists(), "nothing written"


@pytest.mark.slow
def test_check_passes_on_a_fresh_standard_setup_repo(tmp_path: Path, checkov: Checkov, types_dir: Path) -> None:
    from scaffolder._new import new
    from scaffolder.checks import check

    spec = resolve_spec(name="std-agent", runtime="agents", location="eastus2", agent_setup="standard")
    new(spec, tmp_path / "repo", git=False)
    result = check(tmp_path / "repo", checkov=checkov)
    assert {"types", "checkov", "policies"} <= set(result.layers)
    assert result.ok, [str(f) for f in result.findings]
    assert list(result.findings) == []
