"""Every generated repo (runtime x network x monitoring = 12) passes every validation layer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from scaffolder._new import resolve_spec
from scaffolder.validate import (
    CHECKOV_VERSION,
    PYCEP_VERSION,
    RULES,
    BicepTypes,
    Checkov,
    SdkModels,
    check_policies,
    check_rendered_types,
    check_semantics,
    check_syntax,
    check_types,
    load_project,
    render,
    validate_repo,
)
from scaffolder.validate._eval import Unknown, to_plain
from scaffolder.validate._schema import sdk_api_version
from tests.validate.cases import ALLOW_IP, COMBOS, MATRIX, MATRIX_IDS, RUNTIMES, write_repo

per_combo = pytest.mark.parametrize("combo_id", MATRIX_IDS)


def test_matrix_has_twelve_distinct_specs(matrix_repos: dict[str, Path]) -> None:
    assert len(MATRIX) == len(set(MATRIX_IDS)) == len(matrix_repos) == 12
    specs = {COMBOS[c].spec().model_dump_json() for c in MATRIX_IDS}
    assert len(specs) == 12
    for repo in matrix_repos.values():
        assert (repo / "infra" / "main.bicep").is_file()
        assert (repo / "infra" / "main.parameters.json").is_file()


# The project's App Insights connection needs API 2025-12-01 (the first stable version whose type data knows the
# 'AppInsights' category); the SDK backend describes 2025-09-01 and skips newer versions (bicep-types checks them).
# The agent tools' connections (project-connections.bicep) use the same pinned connections version.
SDK_GAP = {
    "infra/modules/project-appinsights-connection.bicep",
    "infra/modules/project-connections.bicep",
    # the standard agent setup's connections (2025-12-01, the registry's connections version) and capability hosts
    "infra/modules/agent-capability-host.bicep",
}


@per_combo
def test_syntax_semantics_policies_clean(combo_id: str, matrix_repos: dict[str, Path]) -> None:
    project = load_project(matrix_repos[combo_id])
    assert len(project.files) >= 7
    assert check_syntax(project) == []
    assert check_semantics(project) == []  # warnings included: no unused params/vars either
    assert check_policies(project) == []


@per_combo
@pytest.mark.parametrize("backend_name", ["bicep-types", "sdk"])
def test_types_clean_static_and_rendered(
    combo_id: str, backend_name: str, matrix_repos: dict[str, Path], types_dir: Path
) -> None:
    backend = BicepTypes(types_dir) if backend_name == "bicep-types" else SdkModels()
    project = load_project(matrix_repos[combo_id])
    assert check_types(project, backend) == []
    assert check_rendered_types(project, backend) == []


@per_combo
def test_validate_repo_without_checkov_is_clean_and_deterministic(
    combo_id: str, matrix_repos: dict[str, Path], types_dir: Path
) -> None:
    assert validate_repo(matrix_repos[combo_id], types_dir=types_dir) == []
    assert validate_repo(matrix_repos[combo_id]) == []  # SDK backend


def _by_type(combo_id: str, repos: dict[str, Path]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for res in render(load_project(repos[combo_id])):
        body = to_plain(res.body)
        assert isinstance(body, dict)
        out.setdefault(res.type, []).append(body)
    return out


@per_combo
def test_rendered_resources_follow_the_spec(combo_id: str, matrix_repos: dict[str, Path]) -> None:
    combo = COMBOS[combo_id]
    spec = combo.spec()
    rendered = _by_type(combo_id, matrix_repos)

    (account,) = rendered["Microsoft.CognitiveServices/accounts"]
    acl = account["properties"]["networkAcls"]
    if combo.network == "ip-restricted":
        assert acl["defaultAction"] == "Deny"
        assert acl["ipRules"] == [{"value": ALLOW_IP}]
    else:
        assert acl["defaultAction"] == "Allow"
        assert acl["ipRules"] == []
    assert account["properties"]["disableLocalAuth"] is True
    assert account["properties"]["customSubDomainName"] == account["name"]
    assert isinstance(account["name"], str) and account["name"].startswith(spec.name)
    assert 2 <= len(account["name"]) <= 64

    deployments = rendered["Microsoft.CognitiveServices/accounts/deployments"]
    assert [
        (d["name"], d["sku"]["name"], d["sku"]["capacity"], d["properties"]["model"]["format"]) for d in deployments
    ] == [(m.name, m.sku, m.capacity, m.format) for m in spec.models]

    monitoring = {"Microsoft.OperationalInsights/workspaces", "Microsoft.Insights/components"}
    assert (monitoring <= set(rendered)) is combo.monitoring
    if not combo.monitoring:
        assert not monitoring & set(rendered)

    (project,) = rendered["Microsoft.CognitiveServices/accounts/projects"]
    assert project["name"] == spec.name
    assigned = rendered.get("Microsoft.Authorization/roleAssignments", [])
    assert assigned, "role assignments must render"
    for body in assigned:
        assert body["properties"]["principalType"] in ("ServicePrincipal", "User", "Group")
        assert not isinstance(body["name"], Unknown)


def test_sdk_backend_describes_the_pinned_api_version(distinct_bicep: dict[str, bytes]) -> None:
    versions = {
        line.split("@", 1)[1].split("'", 1)[0]
        for path, content in distinct_bicep.items()
        if path not in SDK_GAP  # see SDK_GAP: stated, and checked against the bicep-types data instead
        for line in content.decode().splitlines()
        if "'Microsoft.CognitiveServices/" in line and "@" in line
    }
    assert versions == {sdk_api_version()}, "the SDK backend would skip the Cognitive Services resources"


# Every skip the templates carry (each with its reason in the Bicep): public access on the Foundry resource, and
# the Basic registry's Premium-only features (public access off, quarantine) plus Defender's image scanning.
ALLOWED_SKIPS = {
    ("infra/modules/foundry-account.bicep", "CKV_AZURE_134"),
    ("infra/modules/container-registry.bicep", "CKV_AZURE_139"),
    ("infra/modules/container-registry.bicep", "CKV_AZURE_163"),
    ("infra/modules/container-registry.bicep", "CKV_AZURE_166"),
    # A starter search service runs one replica (cost); the SLA checks want 3 (indexing) and 2 (queries).
    ("infra/modules/ai-search.bicep", "CKV_AZURE_208"),
    ("infra/modules/ai-search.bicep", "CKV_AZURE_209"),
    # Standard agent setup: the Agent Service reaches these data stores over their public endpoints (Entra only,
    # local auth and shared keys off); private endpoints come with the private network posture.
    ("infra/modules/cosmos-db.bicep", "CKV_AZURE_99"),
    ("infra/modules/cosmos-db.bicep", "CKV_AZURE_101"),
    ("infra/modules/storage-account.bicep", "CKV_AZURE_35"),
    ("infra/modules/storage-account.bicep", "CKV_AZURE_59"),
    ("infra/modules/storage-account.bicep", "CKV_AZURE_206"),
}


@pytest.mark.slow
def test_checkov_parses_and_passes_every_template(warm_checkov: Checkov, distinct_bicep: dict[str, bytes]) -> None:
    """The 12 repos carry identical files (distinct_bicep asserts it by hash): each is scanned once, alone."""
    reports = warm_checkov.scan(list(distinct_bicep.items()))
    assert {r.file for r in reports} == set(distinct_bicep)
    for report in reports:
        assert report.version == CHECKOV_VERSION
        assert report.parsing_errors == 0, report.file
        assert report.failed() == [], report.file
        for record in report.records:
            if record.result == "skipped":
                assert (report.file, record.check_id) in ALLOWED_SKIPS
                assert record.suppress_comment.strip(), "checkov itself read the skip's reason"
    passed = {(r.file, rec.check_id) for r in reports for rec in r.records if rec.result == "passed"}
    ours = {i for p in RULES for i in p.checkov_ids}
    ran = {check for _, check in passed if check in ours}
    assert ran == ours, "every custom policy must have found a resource to pass on"


@pytest.mark.slow
def test_pycep_pinned_by_checkov_parses_every_template(checkov: Checkov, distinct_bicep: dict[str, bytes]) -> None:
    results = checkov.parse(list(distinct_bicep.items()))
    assert checkov.pycep_version == PYCEP_VERSION
    assert [r for r in results if not r.ok] == []


@pytest.mark.parametrize("runtime", ["responses", "agents", "inference"])
def test_longest_project_name_fits_every_name_limit(runtime: str, types_dir: Path, tmp_path: Path) -> None:
    """Rendered names (prefix + 40-char project + token) meet each type's length and pattern rules."""
    from scaffolder.spec import NAME_MAX
    from tests.validate.cases import write_repo

    spec = resolve_spec(name="p" * NAME_MAX, runtime=runtime, location="eastus2")
    repo = write_repo(spec, tmp_path / "repo")
    assert validate_repo(repo, types_dir=types_dir) == []
    names = [to_plain(r.body)["name"] for r in render(load_project(repo))]  # type: ignore[index]
    assert names and all(isinstance(n, str) for n in names), "every name renders to a concrete string"


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_hosting_none_is_clean_and_creates_no_hosting(runtime: str, types_dir: Path, tmp_path: Path) -> None:
    """The matrix above is the default (container-apps); `--hosting none` drops the hosting resources, cleanly."""
    spec = resolve_spec(name=f"val-{runtime}", runtime=runtime, location="eastus2", hosting="none")
    repo = write_repo(spec, tmp_path / runtime)
    assert validate_repo(repo, types_dir=types_dir) == []
    assert validate_repo(repo) == []
    types = {res.type for res in render(load_project(repo))}
    assert not {"Microsoft.App/containerApps", "Microsoft.App/managedEnvironments",
                "Microsoft.ContainerRegistry/registries"} & types


@per_combo
def test_hosting_resources_are_keyless_and_least_privilege(combo_id: str, matrix_repos: dict[str, Path]) -> None:
    rendered = _by_type(combo_id, matrix_repos)
    if COMBOS[combo_id].network == "ip-restricted":
        # the spec refuses container-apps hosting there (the firewall would block the app): infra only
        assert not [t for t in rendered if t.startswith(("Microsoft.App/", "Microsoft.ContainerRegistry/"))]
        return
    (registry,) = rendered["Microsoft.ContainerRegistry/registries"]
    assert registry["properties"] == {"adminUserEnabled": False, "anonymousPullEnabled": False}
    (app,) = rendered["Microsoft.App/containerApps"]
    assert app["identity"]["type"] == "UserAssigned" and app["tags"]["azd-service-name"] == "api"
    config, template = app["properties"]["configuration"], app["properties"]["template"]
    assert config["ingress"]["external"] is True and config["ingress"]["allowInsecure"] is False
    (container,) = template["containers"]
    names = {e["name"] for e in container["env"]}
    assert {"AZURE_CLIENT_ID", "AZURE_OPENAI_ENDPOINT", "AZURE_AI_PROJECT_ENDPOINT", "APP_AUTH_TENANT_ID",
            "APP_AUTH_AUDIENCE", "APPLICATIONINSIGHTS_CONNECTION_STRING"} <= names
    assert container["resources"] == {"cpu": 0.5, "memory": "1Gi"}  # json('0.5') evaluated, not a whole core
    (env,) = rendered["Microsoft.App/managedEnvironments"]
    assert env["properties"]["appLogsConfiguration"] == {"destination": "azure-monitor"}
    diagnostics = rendered.get("Microsoft.Insights/diagnosticSettings", [])
    assert len(diagnostics) == (1 if COMBOS[combo_id].monitoring else 0)
    # the only grant on the registry: AcrPull, for the app identity (a service principal)
    module = (matrix_repos[combo_id] / "infra/modules/container-registry.bicep").read_text()
    assert module.count("Microsoft.Authorization/roleAssignments") == 1
    assert "var acrPull = '7f951dda-4ed3-4680-a7ca-43fe172d538d'" in module
    assert "principalType: 'ServicePrincipal'" in module
