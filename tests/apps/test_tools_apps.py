"""A Responses repo generated with every tool the runtime offers: its own suite passes offline (and ran the hosted
tool tests), ruff and mypy --strict are clean, and `scaffolder check` passes. The other runtimes' every-tool repos
are built where their own checks live (tests/apps/test_agents_tools_app.py, tests/apps/test_inference_tools.py)."""

from __future__ import annotations

import re
import subprocess

import pytest

from scaffolder import catalog
from scaffolder.catalog import Runtime
from tests.apps.harness import AppRepo, build_app, clean_env, scaffolder_command

# One worker builds the repo once for the module's tests (a module fixture is per worker under xdist).
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("responses-tools")]

# The one table of valid options per tool (and per runtime where they differ), for every tool that needs some: the
# MCP server is called by the service, so any https URL will do; allowed_tools/approval vary the generated code.
# tests/test_tool_options.py checks (fast, unmarked) that every offered tool resolves with these options.
OPTIONS: dict[str, str] = {
    "mcp": "mcp,url=https://mcp.example.com/mcp,label=docs,approval=always,allowed_tools=search;fetch",
    "ai-search": "ai-search,index=docs",
    "sharepoint": "sharepoint,site=https://contoso.sharepoint.com/sites/docs",
    "fabric": ("fabric,workspace=00000000-0000-0000-0000-000000000001,"
               "artifact=00000000-0000-0000-0000-000000000002"),
    "openapi": "openapi,name=weather",
    "agent": "agent,name=billing",
}
# Repeatable tools are given twice (two specialist agents, issue 16 "with two agents"), in the same build.
REPEATED: dict[str, str] = {"agent": "agent,name=travel,instructions=You plan trips. Keep it short."}
RUNTIME_OPTIONS: dict[tuple[Runtime, str], str] = {
    # inference's app-side MCP client is what calls the server: a local test URL (never contacted at generation)
    (Runtime.INFERENCE, "mcp"): "mcp,url=http://127.0.0.1:9/mcp,label=docs",
}


def every_tool(runtime: Runtime) -> tuple[str, ...]:
    """`--tool` values for each tool the runtime offers, as the catalog says today."""
    return tuple(flag for t in catalog.tools().values()
                 if not t.always and not t.docs_only and t.offer(runtime) != "none"
                 for flag in (RUNTIME_OPTIONS.get((runtime, t.name), OPTIONS.get(t.name, t.name)),
                              *([REPEATED[t.name]] if t.name in REPEATED else [])))


# Inference is proven by tests/apps/test_inference_tools.py and agents by the "created" repo of
# tests/apps/test_agents_tools_app.py (the same tools and checks); building them here too only doubled CI time.
OFFERING = [Runtime.RESPONSES]


@pytest.fixture(scope="module", params=[r.value for r in OFFERING])
def tooled(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[Runtime, AppRepo]:
    runtime = Runtime(request.param)
    repo = build_app(runtime.value, tmp_path_factory.mktemp(f"{runtime.value}-tools"), project=f"{runtime.value}-tools",
                     tools=every_tool(runtime))
    return runtime, repo


def test_responses_offers_the_hosted_tools() -> None:
    # The catalog claims native only for what templates/responses implements (tests below prove each one).
    assert {t.split(",")[0] for t in every_tool(Runtime.RESPONSES)} == {
        "file-search", "code-interpreter", "mcp", "web-search", "image-generation"}


def test_suite_passes_with_every_tool(tooled: tuple[Runtime, AppRepo]) -> None:
    runtime, app = tooled
    run = app.pytest()
    print(f"\n{runtime.value} with every tool: {run.counts} in {run.seconds:.1f}s")
    assert run.returncode == 0, run.output[-6000:]
    assert not {"failed", "error", "errors"} & set(run.counts), run.counts
    if runtime is Runtime.RESPONSES:  # the hosted tools' own tests ran, every one of them
        # test_hosted.py: 11 round trips and failures + 5 definitions the strict fake refuses (review-15 MEDIUM-4);
        # test_mcp_server.py: 10, the app's MCP tool through the fake (the service's MCP client) to a real SDK server
        hosted = app.run("python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_hosted.py",
                         "tests/test_mcp_server.py")
        assert hosted.returncode == 0 and re.search(r"^26 passed", hosted.stdout, re.M), hosted.stdout[-3000:]


def test_lint_types_and_check_with_every_tool(tooled: tuple[Runtime, AppRepo]) -> None:
    _, app = tooled
    for result in (app.run("ruff", "check", "."), app.mypy()):
        assert result.returncode == 0, result.stdout + result.stderr
    checked = subprocess.run([*scaffolder_command(), "check", "--offline", str(app.root)], capture_output=True,
                             text=True, env=clean_env(), timeout=300, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_readme_lists_exactly_the_tools(tooled: tuple[Runtime, AppRepo]) -> None:
    runtime, app = tooled
    readme = (app.root / "README.md").read_text()
    section = readme[readme.index("### Tools"):readme.index("Settings (see `.env.example`)")]
    for value in every_tool(runtime):
        assert f"(`{value.split(',')[0]}`" in section
    assert "No other tool is offered" in section or "Other tools" in section
