"""The agents runtime's tool connections: spec checks, Bicep parameters, keyless connections, types, roles, checkov."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from scaffolder import catalog, infra
from scaffolder.cli import app
from scaffolder.errors import SpecError
from scaffolder.validate import Checkov, Scope, evaluate
from scaffolder.validate._eval import to_plain
from tests.helpers import make_spec
from tests.validate.cases import assert_offline_layers_clean, write_repo

SUB = "00000000-0000-0000-0000-0000000000aa"
SCOPE = Scope(SUB, "rg-test", "eastus2")
ENV = {"AZURE_ENV_NAME": "dev", "AZURE_PRINCIPAL_ID": "11111111-1111-1111-1111-111111111111"}
CONNECTION_TYPE = "Microsoft.CognitiveServices/accounts/projects/connections"
CONN = (f"/subscriptions/{SUB}/resourceGroups/rg-x/providers/Microsoft.CognitiveServices/accounts/ai-x"
        "/projects/p/connections/{name}")
SEARCH = f"/subscriptions/{SUB}/resourceGroups/rg-test/providers/Microsoft.Search/searchServices/shared-search"
WS, ART = "11111111-2222-3333-4444-555555555555", "66666666-7777-8888-9999-000000000000"
SITE = "https://contoso.sharepoint.com/sites/policies"
ALL_TOOLS = ["ai-search,index=docs", f"sharepoint,site={SITE}", f"fabric,workspace={WS},artifact={ART}",
             "mcp,url=https://mcp.example/mcp,label=tickets", "openapi,name=weather", "web-search", "file-search",
             "code-interpreter"]
runner = CliRunner()


def spec_with(*tools: str, runtime: str = "agents") -> Any:
    return make_spec(runtime, name="conn-app", tools=list(tools))


# --- misuse: one clear error, exit 2, nothing written -------------------------------------------------------------

@pytest.mark.parametrize(("runtime", "tools", "message"), [
    ("responses", [f"sharepoint,site={SITE}"], "sharepoint is not offered on the Responses API"),
    ("inference", ["fabric,connection=" + CONN.format(name="f")], "fabric is not offered on the"),
    ("agents", ["sharepoint,connection=my-sharepoint"], "connection='my-sharepoint' is not valid: ARM id"),
    ("agents", ["ai-search,index=docs,connection=" + SEARCH], "connection=.* is not valid: ARM id"),
    ("agents", [f"sharepoint,site={SITE}", f"sharepoint,site={SITE}"], "given 2 times.*1 per agent"),
    ("agents", ["sharepoint"], "sharepoint needs site=... or connection=..."),
    ("agents", [f"sharepoint,site={SITE},connection=" + CONN.format(name="s")], "give site=... or connection"),
    ("agents", [f"fabric,workspace={WS}"], "workspace and artifact go together"),
    ("agents", ["web-grounding"], "API key .*authType ApiKey.*use --tool web-search"),
    ("agents", ["ai-search"], "ai-search needs index="),
    # The hosted service reaches an MCP server from Azure: https only (http is for a local server on inference).
    ("agents", ["mcp,url=http://x.example.com,label=a"], "mcp: url=.*needs an https:// URL.*--runtime inference"),
    ("responses", ["mcp,url=http://x.example.com,label=a"], "mcp: url=.*needs an https:// URL"),
    # A connection has one category: one ARM id cannot back two tools.
    ("agents", ["ai-search,index=docs,connection=" + CONN.format(name="c"), "sharepoint,connection="
                + CONN.format(name="C")], "ai-search and sharepoint are given the same connection="),
])
def test_misuse_is_one_line_exit_2_nothing_written(
    tmp_path: Path, runtime: str, tools: list[str], message: str
) -> None:
    args = ["new", "conn-app", "-r", runtime, "--no-input", "--no-git", "-o", str(tmp_path / "out")]
    for tool in tools:
        args += ["--tool", tool]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.stderr
    assert result.stderr.startswith("error: ") and len(result.stderr.strip().splitlines()) <= 2
    import re

    assert re.search(message, result.stderr), result.stderr
    assert not (tmp_path / "out").exists()


def test_plain_http_mcp_is_for_a_local_server_on_inference_only() -> None:
    spec = spec_with("mcp,url=http://127.0.0.1:8000/mcp,label=local", runtime="inference")
    assert spec.tools[0].options["url"] == "http://127.0.0.1:8000/mcp"
    assert spec_with("mcp,url=https://mcp.example/mcp,label=a").tools[0].name == "mcp"


def test_spec_errors_are_spec_errors() -> None:
    with pytest.raises(SpecError, match="not offered on the Responses API"):
        spec_with(f"sharepoint,site={SITE}", runtime="responses")


# --- parameters and roles ------------------------------------------------------------------------------------------

def test_every_connector_sets_its_parameters_and_roles() -> None:
    spec = spec_with(*ALL_TOOLS)
    params = infra.bicep_parameters(spec)
    assert params["aiSearch"] is True and params["aiSearchConnection"] is True and params["aiSearchResourceId"] == ""
    assert params["projectSearchRoles"] == ["searchIndexDataReader"]
    assert params["projectConnections"] == [
        {"name": "sharepoint", "category": "Sharepoint", "target": SITE, "metadata": {"ApiType": "Azure"}},
        {"name": "fabric", "category": "MicrosoftFabric",
         "target": f"https://api.fabric.microsoft.com/v1/workspaces/{WS}/aiskills/{ART}",
         "metadata": {"ApiType": "Azure", "workspace-id": WS, "artifact-id": ART}},
    ]
    grant = next(g for g in infra.grants(spec) if g.scope == "search")
    assert (grant.principal, grant.role.id) == ("project", catalog.roles()["search-index-data-reader"].id)
    # The service this repo creates has keys off: the developer can create and fill the tool's index.
    assert params["developerSearchRoles"] == ["searchServiceContributor", "searchIndexDataContributor"]
    assert all("fill the index 'docs'" in g.reason for g in infra.grants(spec) if g.principal == "developer"
               and g.scope == "search")


def test_no_developer_search_role_on_a_service_this_repo_does_not_create() -> None:
    for tools in ([f"ai-search,index=docs,search={SEARCH}"],
                  ["ai-search,index=docs,connection=" + CONN.format(name="s")]):
        assert infra.bicep_parameters(spec_with(*tools))["developerSearchRoles"] == []


def test_a_role_covered_by_a_broader_one_on_the_same_scope_is_not_granted() -> None:
    spec = make_spec("agents", name="conn-app", tools=["ai-search,index=docs"], agent_setup="standard")
    assert infra.bicep_parameters(spec)["projectSearchRoles"] == ["searchIndexDataContributor",
                                                                  "searchServiceContributor"]


def test_existing_connections_create_nothing() -> None:
    spec = spec_with("ai-search,index=docs,connection=" + CONN.format(name="srch"),
                     "sharepoint,connection=" + CONN.format(name="sp"), "fabric,connection=" + CONN.format(name="fb"))
    params = infra.bicep_parameters(spec)
    assert params["aiSearch"] is False and params["aiSearchConnection"] is False
    assert params["projectConnections"] == [] and params["projectSearchRoles"] == []
    assert [c["existing"] for c in infra.tool_connections(spec)] == [
        CONN.format(name="srch"), CONN.format(name="sp"), CONN.format(name="fb")]


def test_an_existing_search_service_is_connected_and_granted_not_created() -> None:
    params = infra.bicep_parameters(spec_with(f"ai-search,index=docs,search={SEARCH}"))
    assert params["aiSearch"] is True and params["aiSearchResourceId"] == SEARCH and params["aiSearchConnection"]


def test_readme_lists_the_connections_and_the_search_grant(tmp_path: Path) -> None:
    repo = write_repo(spec_with(*ALL_TOOLS), tmp_path / "repo")
    readme = (repo / "README.md").read_text()
    assert "why: create and fill the index 'docs' the agent's ai-search tool reads" in readme
    for name, category in (("ai-search", "CognitiveSearch"), ("sharepoint", "Sharepoint"),
                           ("fabric", "MicrosoftFabric")):
        assert f"| Project connection `{name}` (`accounts/projects/connections`, category `{category}`)" in readme
    role = catalog.roles()["search-index-data-reader"]
    assert f"| project identity | {role.name} (`{role.id}`) | search |" in readme
    docs = (repo / "docs" / "agent-tools.md").read_text()
    assert "One SharePoint tool and one Fabric tool per agent" in docs and "AppOnly OBO" in docs
    assert json.loads((repo / "openapi" / "weather.json").read_text())["openapi"].startswith("3.")


# --- the Bicep: keyless connections, types, order ------------------------------------------------------------------

def _connections(repo: Path) -> dict[str, Any]:
    out = {}
    for res in evaluate(repo, SCOPE, ENV).resources:
        if res.type == CONNECTION_TYPE and not res.key.startswith("appInsightsConnection"):
            body = to_plain(res.body)
            assert isinstance(body, dict)
            out[str(res.name)] = (body, res.depends_on, res.key)
    return out


def test_connections_are_keyless_typed_and_serialised(tmp_path: Path, types_dir: Path) -> None:
    repo = write_repo(spec_with(*ALL_TOOLS), tmp_path / "repo")
    assert_offline_layers_clean(repo, types_dir)
    connections = _connections(repo)
    bodies = {name: body for name, (body, _, _) in connections.items()}
    assert set(bodies) == {"ai-search", "sharepoint", "fabric"}
    for body in bodies.values():
        props = body["properties"]
        assert props["authType"] == "AAD" and "credentials" not in props  # no key stored, ever
    assert bodies["ai-search"]["properties"]["category"] == "CognitiveSearch"
    assert str(bodies["ai-search"]["properties"]["target"]).endswith(".search.windows.net")
    assert bodies["sharepoint"]["properties"]["target"] == SITE
    # after the other writes to the account: the model deployments, and the search connection before the others
    for _, depends, key in connections.values():
        assert any(d.startswith("deployments.") for d in depends), key
        if key.startswith("toolConnections"):
            assert any(d.startswith("searchConnection.") for d in depends), key


def test_without_tools_there_is_no_connection_module(tmp_path: Path) -> None:
    repo = write_repo(make_spec("agents", name="plain-app"), tmp_path / "repo")
    assert _connections(repo) == {}


@pytest.mark.slow
def test_connection_module_passes_checkov(tmp_path: Path, checkov: Checkov) -> None:
    repo = write_repo(spec_with(*ALL_TOOLS), tmp_path / "repo")
    names = ["infra/modules/project-connections.bicep", "infra/main.bicep"]
    for report in checkov.scan([(n, (repo / n).read_bytes()) for n in names]):
        assert report.parsing_errors == 0, report.file
        assert report.failed() == [], report.file


def test_the_connectors_question_names_only_tools_the_agents_runtime_generates() -> None:
    # Bing grounding's connection holds an API key, so no runtime generates it: the runtime choice must not ask for it.
    text = (Path(catalog.__file__).parent / "decision.yaml").read_text()
    assert "Bing grounding" not in text.split("rules:")[1] and "Bing grounding)?" not in text
    assert catalog.tools()["web-grounding"].offered_by() == []
    for name in ("sharepoint", "fabric", "ai-search"):
        assert catalog.Runtime.AGENTS in catalog.tools()[name].offered_by()
