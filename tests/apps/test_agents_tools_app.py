"""Agents repos generated with every connector: their own suites, ruff, mypy --strict and `scaffolder check` pass.

One repo has every tool the agents runtime offers, with the connections infra/ creates (a new search service, a
SharePoint site, a Fabric data agent, an MCP server needing approval, an OpenAPI spec, web search, file search, code
interpreter, two specialist agents over A2A): its README lists exactly those tools and its console script's
`files add` works end to end. The second uses existing connections by ARM id, an MCP server without approval and an
OpenAPI tool with managed identity;
the third has `--agent-setup standard` with AI Search and SharePoint connections by name. (Each build costs about a
minute of CI, so one repo proves as much as it can.)
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from scaffolder.catalog import Runtime
from scaffolder.checks import check
from scaffolder.validate import find_checkov_venv, install_checkov_venv
from tests.apps.harness import AppRepo, build_app, clean_env, fake_foundry, scaffolder_command
from tests.apps.test_tools_apps import every_tool
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
        # two specialist agents (issue 16 item 3: "with two agents"), in this build rather than a new one
        "agent,name=billing", "agent,name=travel,instructions=You plan trips. Keep it short.",
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


def test_the_created_variant_has_every_tool_the_runtime_offers() -> None:
    assert {t.split(",")[0] for t in REPOS["created"]} == {t.split(",")[0] for t in every_tool(Runtime.AGENTS)}


def readme_lists_exactly_the_tools(app: AppRepo) -> None:
    readme = (app.root / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### Tools"):readme.index("Settings (see `.env.example`)")]
    for value in REPOS["created"]:
        assert f"(`{value.split(',')[0]}`" in section
    assert "No other tool is offered" in section or "Other tools" in section


def files_add_end_to_end(app: AppRepo, work: Path) -> None:
    """The console script's `files add` creates the vector store on the strict fake; `agent sync` then uses it."""
    assert "files add PATH..." in (app.root / "README.md").read_text(encoding="utf-8")
    doc = work / "notes.md"
    doc.write_text("Widgets ship in blue.", encoding="utf-8")
    with fake_foundry(app, work) as fake:
        fake.server.runtime.agents.clear()
        added = app.cli("files", "add", str(doc), env=fake.env)
        assert added.returncode == 0, added.stdout + added.stderr
        assert f"created vector store '{app.project}-files'" in added.stdout and "added notes.md" in added.stdout
        synced = app.cli("agent", "sync", env=fake.env)
        assert synced.returncode == 0 and "created version 1" in synced.stdout, synced.stdout + synced.stderr


def bicep_files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted((root / "infra").rglob("*.bicep"))}


def default_agents_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`scaffolder new` of the default agents repo (generated only: no venv)."""
    parent = tmp_path_factory.mktemp("agents-default")
    made = subprocess.run([*scaffolder_command(), "new", "plain", "--runtime", "agents", "--no-input"], cwd=parent,
                          capture_output=True, text=True, env=clean_env(), timeout=300, check=False)
    assert made.returncode == 0, made.stdout + made.stderr
    return parent / "plain"


@pytest.mark.parametrize("variant", list(REPOS))
def test_agents_repo_with_connectors_passes_its_suite_lint_types_and_check(
    variant: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    work = tmp_path_factory.mktemp(f"agents-{variant}")
    app = build_app("agents", work, f"tools-{variant}", tools=REPOS[variant], extra=EXTRA.get(variant, ()))
    if variant == "created":
        readme_lists_exactly_the_tools(app)
        files_add_end_to_end(app, work)
    run = app.pytest()
    print(f"\nagents ({variant} connections): generated suite {run.counts} in {run.seconds:.1f}s")
    assert run.returncode == 0, run.output[-6000:]
    assert run.counts.get("passed", 0) >= 60 and not {"failed", "error", "errors"} & set(run.counts), run.counts
    for result in (app.run("ruff", "check", "."), app.mypy()):
        assert result.returncode == 0, result.stdout + result.stderr
    # The Bicep is static and parameter-driven: every variant carries the default repo's files byte for byte (only
    # main.parameters.json differs), so checkov, which reads the Bicep, runs once, on the "created" repo.
    assert bicep_files(app.root) == bicep_files(default_agents_repo(tmp_path_factory))
    if variant == "created":
        venv = find_checkov_venv(CHECKOV_VENV) or install_checkov_venv(CHECKOV_VENV)
        checked = check(app.root, checkov=venv)
        assert "checkov" in checked.layers
    else:
        checked = check(app.root, offline_only=True)
    assert checked.errors == (), checked.errors
    assert "types" in checked.layers
