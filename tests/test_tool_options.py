"""Tool options reach generated code and `update` safely: hostile values refused, odd-but-valid ones round-trip."""

from __future__ import annotations

import ast
import json
import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from scaffolder.cli import app
from scaffolder.generate import plan_files
from tests.helpers import make_spec

runner = CliRunner()
HOSTED = "src/demo/hosted.py"


def constants(module: str) -> dict[str, object]:
    """The module-level constants of generated Python, read back as values (the module must parse)."""
    out: dict[str, object] = {}
    for node in ast.parse(module).body:
        target = node.targets[0] if isinstance(node, ast.Assign) else getattr(node, "target", None)
        value = getattr(node, "value", None)
        if isinstance(target, ast.Name) and value is not None:
            try:
                out[target.id] = ast.literal_eval(value)
            except ValueError:
                continue
    return out


@pytest.mark.parametrize("url", [
    'https://x/"+__import__("os").getcwd()+"',  # the reviewer's injection (HIGH-1)
    "https://x/m\\",                               # a trailing backslash breaks the string literal
    "https://x/m'",
    "https://x/a b",
    "https://x/a\tb",
    "https://x/a\x00b",
    "https://x/\u00e9",
    "ftp://x/mcp",
])
def test_hostile_mcp_url_is_refused_nothing_written(tmp_path: Path, url: str) -> None:
    result = runner.invoke(app, ["new", "demo", "-r", "responses", "--tool", f"mcp,url={url},label=a",
                                 "--no-input", "--no-git", "-o", str(tmp_path)])
    assert result.exit_code == 2, result.stderr
    assert "mcp: url=" in result.stderr and "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []


_PATH_CHARS = string.ascii_letters + string.digits + "._~!$&()*+;=:@%/-"
urls = st.builds(
    lambda scheme, host, port, path, query: f"{scheme}://{host}{port}{path}{query}",
    st.just("https"),  # the Responses service calls the server from Azure: https only (http is refused, tested above)
    st.from_regex(r"[A-Za-z0-9-]{1,12}(\.[A-Za-z0-9-]{1,12}){0,2}", fullmatch=True),
    st.sampled_from(["", ":8080", ":1"]),
    st.text(_PATH_CHARS, max_size=20).map(lambda p: "/" + p),
    st.one_of(st.just(""), st.text(_PATH_CHARS + "?", max_size=12).map(lambda q: "?" + q)),
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(url=urls, label=st.from_regex(r"[a-zA-Z][a-zA-Z0-9_-]{0,20}", fullmatch=True),
       allowed=st.lists(st.from_regex(r"[a-zA-Z0-9_.-]{1,8}", fullmatch=True), max_size=3))
def test_accepted_mcp_options_render_to_python_that_round_trips(url: str, label: str, allowed: list[str]) -> None:
    """Every value the real catalog accepts is written into hosted.py as a literal equal to it."""
    flag = f"mcp,url={url},label={label}" + (f",allowed_tools={';'.join(allowed)}" if allowed else "")
    spec = make_spec(tools=[flag, "image-generation"])
    found = constants(plan_files(spec).text(HOSTED))
    assert found["MCP_SERVER_URL"] == url
    assert found["MCP_SERVER_LABEL"] == label
    assert found["MCP_ALLOWED_TOOLS"] == tuple(a for a in allowed if a)
    assert found["IMAGE_DEPLOYMENT"] == spec.tools[-1].options["deployment"]


# --- update on a repo generated with tools (review-15 HIGH-19) ----------------------------------------------------

TOOLS = ["web-search", "mcp,url=https://mcp.example.com/mcp?x=1,label=docs,approval=never,allowed_tools=a;b"]


def test_update_check_and_update_on_a_repo_with_tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from scaffolder._new import new, resolve_spec
    from scaffolder._update import recorded_options

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    spec = resolve_spec(name="demo", runtime="responses", location="eastus2", tools=TOOLS)
    assert resolve_spec(**recorded_options(spec)) == spec  # the recorded tools rebuild the same spec
    repo = tmp_path / "demo"
    new(spec, repo)
    before = {p: p.read_bytes() for p in repo.rglob("*") if p.is_file()}
    check = runner.invoke(app, ["update", str(repo), "--check"])
    assert check.exit_code == 0, check.stderr
    done = runner.invoke(app, ["update", str(repo)])
    assert done.exit_code == 0, done.stderr
    assert {p: p.read_bytes() for p in repo.rglob("*") if p.is_file()} == before
    # a runtime switch keeps the tools; one the new runtime cannot offer is one clear error, nothing written
    switch = runner.invoke(app, ["update", str(repo), "--runtime", "inference"])
    assert switch.exit_code == 2, switch.stderr
    assert "web-search" in switch.stderr and "Traceback" not in switch.stderr
    assert {p: p.read_bytes() for p in repo.rglob("*") if p.is_file()} == before


# --- the slow proof's option table (review-15 HIGH-7) --------------------------------------------------------------


@pytest.mark.parametrize("runtime", ["responses", "agents", "inference"])
def test_slow_proof_options_resolve_for_every_offered_tool(runtime: str) -> None:
    """tests/apps/test_tools_apps.py generates each runtime with every tool it offers: its options must be valid."""
    from scaffolder.catalog import Runtime
    from tests.apps.test_tools_apps import every_tool

    flags = every_tool(Runtime(runtime))
    spec = make_spec(runtime=runtime, tools=list(flags))
    assert {t.name for t in spec.tools} == {f.split(",")[0] for f in flags}


# --- empty values (review-15 MEDIUM-16) -----------------------------------------------------------------------------


@pytest.mark.parametrize(("runtime", "flag", "empty"), [
    ("responses", "mcp,url=,label=docs", "url"),
    ("responses", "mcp,url=https://x.example/mcp,label=", "label"),
    ("inference", "mcp,url=,label=", "url"),
    ("agents", "ai-search,index=", "index"),
    ("agents", "openapi,name=", "name"),
])
def test_empty_required_option_is_refused(tmp_path: Path, runtime: str, flag: str, empty: str) -> None:
    result = runner.invoke(app, ["new", "demo", "-r", runtime, "--tool", flag, "--no-input", "--no-git",
                                 "-o", str(tmp_path)])
    assert result.exit_code == 2, result.stderr
    assert f"{empty}= is empty; it is required" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_empty_optional_value_means_the_default() -> None:
    from scaffolder import catalog

    spec = make_spec(tools=["image-generation,deployment=", "mcp,url=https://x.example/mcp,label=a,approval="])
    options = {t.name: t.options for t in spec.tools}
    tools = catalog.tools()
    assert options["image-generation"]["deployment"] == tools["image-generation"].options["deployment"].default != ""
    assert options["mcp"]["approval"] == tools["mcp"].options["approval"].default == "always"


# --- README and ADR claims match the code (review-15 item 6) --------------------------------------------------------


def tools_section(readme: str) -> str:
    return readme[readme.index("### Tools"):readme.index("Settings (see `.env.example`)")]


def test_inference_texts_say_what_the_generated_tools_are() -> None:
    plan = plan_files(make_spec(runtime="inference", tools=["file-search", "mcp,url=https://x.example/mcp,label=d"]))
    adr = next(plan.text(p) for p in plan.paths() if p.startswith("docs/adr/"))
    assert "yours to implement" not in adr and "generated app-side with --tool" in adr
    section = tools_section(plan.text("README.md"))
    assert "Azure AI Search index" in section


def test_agents_readme_does_not_promise_code_interpreter_downloads() -> None:
    section = tools_section(plan_files(make_spec(runtime="agents", tools=["code-interpreter"])).text("README.md"))
    assert "can be downloaded" not in section and "the agents app does not" in section


def test_responses_readme_says_api_images_stay_on_the_server() -> None:
    section = tools_section(plan_files(make_spec(tools=["image-generation"])).text("README.md"))
    assert "cannot be downloaded through the API" in section


def test_readmes_say_how_tool_settings_reach_the_container_app() -> None:
    """review-15 HIGH-2 (wired): the README says how each deployed setting gets into Azure; main.bicep takes them."""
    inference = plan_files(make_spec(runtime="inference", tools=["file-search", "mcp,url=https://x.example/mcp,label=d"]))
    responses = plan_files(make_spec(tools=["file-search", "mcp,url=https://x.example/mcp,label=d"]))
    for plan, names in ((inference, ["AZURE_AI_SEARCH_ENDPOINT", "APP_EMBEDDING_DEPLOYMENT", "APP_MCP_AUTH_TOKEN"]),
                        (responses, ["APP_FILE_SEARCH_VECTOR_STORE_IDS", "APP_MCP_AUTH_TOKEN"])):
        readme = plan.text("README.md")
        assert "Not wired" not in readme
        assert "azd provision" in readme and "secretRef" in readme and "mcp-auth-token" in readme
        for name in names:
            said = [p for p in readme.split("\n\n") if name in p and "azd" in p]
            assert said, name
        bicep = plan.text("infra/main.bicep")
        assert "param appToolSettings array" in bicep and "@secure()\n@description" in bicep


# --- working example flags, `tools` and `recommend` (review-15 LOW-9) -------------------------------------------------


def test_every_example_flag_works_on_every_runtime_that_offers_the_tool() -> None:
    from scaffolder import catalog
    from scaffolder.tools import example_flag

    for tool in catalog.tools().values():
        if tool.always or tool.docs_only:
            continue
        for runtime in tool.offered_by():
            flag = example_flag(tool)
            spec = make_spec(runtime=runtime.value, tools=[flag.removeprefix("--tool ")])
            assert [t.name for t in spec.tools] == [tool.name], (runtime, flag)


def test_cli_tools_shows_no_flag_where_the_tool_is_not_offered() -> None:
    result = runner.invoke(app, ["tools", "--runtime", "inference"])
    assert result.exit_code == 0
    rows = {line.split()[0]: line for line in result.stdout.splitlines()[1:] if line.strip()}
    assert rows["code-interpreter"].rstrip().endswith(" -")
    assert rows["mcp"].rstrip().endswith("--tool mcp,url=https://mcp.example.com/mcp,label=docs")
    every = runner.invoke(app, ["tools"]).stdout.splitlines()
    assert next(line for line in every if line.startswith("sharepoint")).rstrip().endswith(
        "--tool sharepoint,site=https://contoso.sharepoint.com/sites/docs")


def test_recommend_keeps_the_given_tool_values_in_its_commands() -> None:
    given = "mcp,url=https://x.example/mcp,label=kb,approval=never"
    result = runner.invoke(app, ["recommend", "--tool", given, "--tool", "openapi,name=w", "--no-input"])
    assert result.exit_code == 0, result.stderr
    assert f"scaffolder new NAME --decision decision.json --tool {given} --tool openapi,name=w\n" in result.stdout
    assert f"scaffolder new NAME --runtime agents --tool {given} --tool openapi,name=w\n" in result.stdout
    # a conflict (no runtime offers both): the command leaves one out, and says so
    result = runner.invoke(app, ["recommend", "--tool", "image-generation,deployment=img", "--tool", "openapi,name=w",
                                 "--no-input"])
    assert "scaffolder new NAME --runtime responses --tool image-generation,deployment=img\n" in result.stdout
    assert "(left out: openapi: not offered by responses" in result.stdout  # never dropped silently
    doc = runner.invoke(app, ["recommend", "--tool", given, "--no-input", "--json"])
    assert json.loads(doc.stdout)["command"] == f"scaffolder new NAME --runtime responses --tool {given}"


# --- facts and their sources (review-15 LOW-12) ---------------------------------------------------------------------


def test_tool_facts_cite_learn() -> None:
    from scaffolder import catalog

    quotas = catalog.tool_sources()["openai-quotas"]
    assert "openai-quotas" in catalog.tools()["file-search"].sources
    assert quotas.url.startswith("https://learn.microsoft.com/") and "quotas-limits" in quotas.url
    files = plan_files(make_spec(tools=["file-search", "code-interpreter"])).text("src/demo/files.py")
    assert "512 MB via the API" in files and "quotas-limits.md" in files and "OpenAI API reference" not in files
    assert "containers-retrieve-container-file-content" in files and "5618146" in files
    readme = plan_files(make_spec(tools=["web-search", "image-generation"])).text("README.md")
    assert readme.count('"Supported regions"') == 2 and "administrator can turn it off" in readme
