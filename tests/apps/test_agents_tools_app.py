"""Agents repos generated with every connector: their own suites, ruff, mypy --strict and `scaffolder check` pass.

One repo has every tool with the connections infra/ creates (a new search service, a SharePoint site, a Fabric
data agent, an MCP server needing approval, an OpenAPI spec, web search, file search, code interpreter); the other
uses existing connections by ARM id, an MCP server without approval and an OpenAPI tool with managed identity;
the third has `--agent-setup standard` with AI Search and SharePoint connections by name.
"""

from __future__ import annotations

import pytest

from scaffolder.checks import check
from scaffolder.validate import find_checkov_venv, install_checkov_venv
from tests.apps.harness import build_app
from tests.conftest import CHECKOV_VENV

pytestmark = pytest.mark.slow

CONN = ("/subscriptions/00000000-0000-0000-0000-0000000000aa/resourceGroups/rg-x/providers/"
        "Microsoft.CognitiveServices/accounts/ai-x/projects/p/connections/{}")
REPOS = {
    "created": (
        "ai-search,index=docs", "sharepoint,site=https://contoso.sharepoint.com/sites/policies",
        "fabric,workspace=11111111-2222-3333-4444-555555555555,artifact=66666666-7777-8888-9999-000000000000",
        "mcp,url=https://mcp.example/mcp,label=tickets,approval=always,allowed_tools=lookup",
        "openapi,name=weather", "web-search", "file-search", "code-interpreter",
    ),
    "existing": (
        "ai-search,index=docs,query_type=semantic,top_k=3,connection=" + CONN.format("srch"),
        "sharepoint,connection=" + CONN.format("sp"), "fabric,connection=" + CONN.format("fb"),
        "mcp,url=https://mcp.example/mcp,label=tickets,approval=never",
        "openapi,name=status,auth=managed-identity,audience=api://status-api",
    ),
    # Standard setup with connections looked up by name, the first hosted tool a connection (not a vector store):
    # a wrong project endpoint must still be reported as the endpoint's 404, not "run azd provision".
    "standard": ("ai-search,index=docs", "sharepoint,site=https://contoso.sharepoint.com/sites/policies"),
}
EXTRA = {"standard": ("--agent-setup", "standard")}


@pytest.mark.parametrize("variant", list(REPOS))
def test_agents_repo_with_connectors_passes_its_suite_lint_types_and_check(
    variant: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    app = build_app("agents", tmp_path_factory.mktemp(f"agents-{variant}"), f"tools-{variant}", tools=REPOS[variant],
                    extra=EXTRA.get(variant, ()))
    run = app.pytest()
    print(f"\nagents ({variant} connections): generated suite {run.counts} in {run.seconds:.1f}s")
    assert run.returncode == 0, run.output[-6000:]
    assert run.counts.get("passed", 0) >= 60 and not {"failed", "error", "errors"} & set(run.counts), run.counts
    for result in (app.run("ruff", "check", "."), app.mypy()):
        assert result.returncode == 0, result.stdout + result.stderr
    venv = find_checkov_venv(CHECKOV_VENV) or install_checkov_venv(CHECKOV_VENV)
    checked = check(app.root, checkov=venv)
    assert checked.errors == (), checked.errors
    assert "checkov" in checked.layers and "types" in checked.layers
