"""The chosen tools' settings reach the deployed container app (review-15 HIGH-2); the MCP token as a secret."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from scaffolder import infra
from scaffolder._new import resolve_spec
from scaffolder.generate._plan import template_context
from scaffolder.spec import ProjectSpec
from scaffolder.validate._deploy import Evaluated, Scope, evaluate
from scaffolder.validate._eval import to_plain
from tests.validate.cases import assert_offline_layers_clean, write_repo

SCOPE = Scope("00000000-0000-0000-0000-0000000000aa", "rg-test", "eastus2")
ENV = {"AZURE_ENV_NAME": "dev", "AZURE_PRINCIPAL_ID": "11111111-1111-1111-1111-111111111111"}
TOKEN = "tok-3f9e1c0b-never-in-the-open"
MCP = "mcp,url=https://mcp.example.com/mcp,label=docs"
# What every container app gets, tools or not (main.bicep baseAppSettings).
BASE = {"AZURE_OPENAI_ENDPOINT", "AZURE_AI_PROJECT_ENDPOINT", "AZURE_AI_MODEL_DEPLOYMENT", "AZURE_CLIENT_ID",
        "APPLICATIONINSIGHTS_CONNECTION_STRING", "APP_AUTH_TENANT_ID", "APP_AUTH_AUDIENCE"}
INFERENCE_SEARCH = {"APP_SEARCH_INDEX", "APP_EMBEDDING_DEPLOYMENT", "APP_EMBEDDING_DIMENSIONS"}
INFERENCE_MCP = {"APP_MCP_URL", "APP_MCP_LABEL", "APP_MCP_ALLOWED_TOOLS", "APP_MCP_APPROVAL", "APP_MCP_API_APPROVAL"}

# runtime, tools -> settings bound from azd, whether the search endpoint is passed, whether the token is a secret
CASES: list[tuple[str, list[str], set[str], bool, bool]] = [
    ("inference", [], set(), False, False),
    ("inference", ["file-search"], INFERENCE_SEARCH, True, False),
    ("inference", [MCP], INFERENCE_MCP, False, True),
    ("inference", ["file-search", MCP], INFERENCE_SEARCH | INFERENCE_MCP, True, True),
    ("responses", ["file-search"], {"APP_FILE_SEARCH_VECTOR_STORE_IDS"}, False, False),
    ("responses", [MCP], {"APP_MCP_API_APPROVAL"}, False, True),
    ("responses", ["code-interpreter", "web-search"], set(), False, False),
    ("agents", [MCP], {"APP_MCP_API_APPROVAL"}, False, False),
]


def _spec(runtime: str, tools: list[str], **kw: Any) -> ProjectSpec:
    return resolve_spec(name="tools-app", runtime=runtime, location="eastus2", tools=tools, **kw)


def _app(done: Evaluated) -> dict[str, Any]:
    apps = [r for r in done.resources if r.type == "Microsoft.App/containerApps"]
    assert len(apps) == 1
    body = to_plain(apps[0].body)
    assert isinstance(body, dict)
    return body


def _env(app: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in app["properties"]["template"]["containers"][0]["env"]}


@pytest.mark.parametrize(("runtime", "tools", "bound", "search", "secret"), CASES,
                         ids=[f"{c[0]}-{'+'.join(t.split(',')[0] for t in c[1]) or 'none'}" for c in CASES])
def test_container_app_gets_exactly_the_chosen_tools_settings(
    tmp_path: Path, runtime: str, tools: list[str], bound: set[str], search: bool, secret: bool
) -> None:
    spec = _spec(runtime, tools)
    params = json.loads(write_repo(spec, tmp_path / "repo").joinpath("infra/main.parameters.json").read_text())
    params = params["parameters"]
    assert {s["name"] for s in params["appToolSettings"]["value"]} == bound
    assert params["appSearchEndpoint"]["value"] is search
    assert ("mcpAuthToken" in params) is secret
    if secret:
        assert params["mcpAuthToken"]["value"] == "${APP_MCP_AUTH_TOKEN}"  # never a default, never a literal

    # Unset in the azd environment: each value is the app's own default (settings.py), so nothing changes.
    defaults = {s["name"]: s["default_env"] for s in template_context(spec)["app_settings"]}
    env = _env(_app(evaluate(tmp_path / "repo", SCOPE, ENV)))
    expected = BASE | bound | ({"AZURE_AI_SEARCH_ENDPOINT"} if search else set())
    assert set(env) == expected  # no token entry while APP_MCP_AUTH_TOKEN is unset: no secret at all
    for name in bound:
        assert env[name]["value"] == defaults[name], name
    if search:
        assert env["AZURE_AI_SEARCH_ENDPOINT"]["value"].endswith(".search.windows.net")
        assert env["AZURE_AI_SEARCH_ENDPOINT"]["value"].startswith("https://srch-tools-app-")

    # Set in the azd environment (`azd env set`): those values reach the container, the token as a secret only.
    given = {name: f"v-{name.lower()}" for name in bound}
    done = evaluate(tmp_path / "repo", SCOPE, {**ENV, **given, "APP_MCP_AUTH_TOKEN": TOKEN})
    app = _app(done)
    env = _env(app)
    for name, value in given.items():
        assert env[name] == {"name": name, "value": value}
    secrets = app["properties"]["configuration"]["secrets"]
    if secret:
        assert env["APP_MCP_AUTH_TOKEN"] == {"name": "APP_MCP_AUTH_TOKEN", "secretRef": "mcp-auth-token"}
        assert secrets == [{"name": "mcp-auth-token", "value": TOKEN}]
        assert TOKEN in done.secret_values  # provisioning withholds it from anything it prints
    else:
        assert "APP_MCP_AUTH_TOKEN" not in env and secrets == []
    assert set(env) == expected | ({"APP_MCP_AUTH_TOKEN"} if secret else set())
    # The token is in the secret's value and nowhere else: no output, no other property.
    assert TOKEN not in json.dumps(done.outputs, default=str)
    assert json.dumps(app, default=str).count(TOKEN) == (1 if secret else 0)


def test_search_endpoint_is_the_deployments_own_search_service(tmp_path: Path) -> None:
    done = evaluate(write_repo(_spec("inference", ["file-search"]), tmp_path / "repo"), SCOPE, ENV)
    assert _env(_app(done))["AZURE_AI_SEARCH_ENDPOINT"]["value"] == done.outputs["AZURE_AI_SEARCH_ENDPOINT"]


def test_without_a_container_app_no_tool_settings_are_bound(tmp_path: Path) -> None:
    params = infra.azd_parameters_file(_spec("inference", ["file-search", MCP], hosting="none"))["parameters"]
    assert params["appToolSettings"]["value"] == [] and params["appSearchEndpoint"]["value"] is False
    assert "mcpAuthToken" not in params


def test_inference_file_search_app_identity_reads_the_index() -> None:
    """The deployed app's only search role: Search Index Data Reader (granted in Bicep, listed in the README)."""
    spec = _spec("inference", ["file-search"])
    assert infra.bicep_parameters(spec)["appSearchRoles"] == ["searchIndexDataReader"]
    rows = [g for g in template_context(spec)["grants"] if g["principal"] == "app" and g["scope"] == "search"]
    assert [(g["role"], g["role_id"]) for g in rows] == [("Search Index Data Reader",
                                                         "1407120a-92aa-4202-b7e9-c0e197c71c8f")]


def test_ci_and_azure_yaml_carry_exactly_the_deployed_settings(tmp_path: Path) -> None:
    repo = write_repo(_spec("inference", ["file-search", MCP]), tmp_path / "repo")
    azure = yaml.safe_load((repo / "azure.yaml").read_text())
    assert azure["pipeline"] == {"variables": sorted(INFERENCE_SEARCH | INFERENCE_MCP, key=list(
        s["name"] for s in json.loads((repo / "infra/main.parameters.json").read_text())["parameters"][
            "appToolSettings"]["value"]).index), "secrets": ["APP_MCP_AUTH_TOKEN"]}
    deploy = yaml.safe_load((repo / ".github/workflows/ci.yml").read_text())["jobs"]["deploy"]["env"]
    for name in INFERENCE_SEARCH | INFERENCE_MCP:
        assert deploy[name] == f"${{{{ vars.{name} }}}}"
    assert deploy["APP_MCP_AUTH_TOKEN"] == "${{ secrets.APP_MCP_AUTH_TOKEN }}"
    plain = write_repo(_spec("inference", []), tmp_path / "plain")
    assert "pipeline" not in yaml.safe_load((plain / "azure.yaml").read_text())
    assert not any(k.startswith("APP_MCP") or k.startswith("APP_SEARCH") for k in yaml.safe_load(
        (plain / ".github/workflows/ci.yml").read_text())["jobs"]["deploy"]["env"])


def test_azure_yaml_with_pipeline_settings_matches_the_schema(tmp_path: Path, azd_schema_dir: Path) -> None:
    import jsonschema

    schema = json.loads((azd_schema_dir / "azure.yaml.json").read_text())
    repo = write_repo(_spec("responses", ["file-search", MCP]), tmp_path / "repo")
    doc = yaml.safe_load((repo / "azure.yaml").read_text())
    assert doc["pipeline"] == {"variables": ["APP_FILE_SEARCH_VECTOR_STORE_IDS", "APP_MCP_API_APPROVAL"],
                               "secrets": ["APP_MCP_AUTH_TOKEN"]}
    jsonschema.validate(doc, schema)


@pytest.mark.parametrize("runtime", ["inference", "responses"])
def test_repo_with_tool_settings_passes_the_offline_layers(tmp_path: Path, types_dir: Path, runtime: str) -> None:
    """Types (the pinned Microsoft.App type data: secrets, secretRef), semantics, policies: clean."""
    tools = ["file-search", MCP]
    assert_offline_layers_clean(write_repo(_spec(runtime, tools), tmp_path / "repo"), types_dir)


def test_binding_refuses_a_default_azd_would_cut_short() -> None:
    with pytest.raises(ValueError, match="cannot be bound"):
        _ = infra.DeployedSetting("APP_X", "azd", "a}b").binding
