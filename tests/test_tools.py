"""Tools as data: the catalog, `--tool` parsing and validation, `scaffolder tools`, standards, recommend, templates."""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from scaffolder import catalog, decision
from scaffolder.catalog import CatalogTool, Runtime
from scaffolder.cli import app
from scaffolder.errors import SpecError, StandardsError
from scaffolder.generate import plan_files
from scaffolder.standards import load
from scaffolder.tools import check_tool, listing, parse_tool_option, runtimes_offering
from tests.helpers import make_spec

runner = CliRunner()

# The tool names every engineer codes against (notes/TOOLS-CONTRACT.md).
CONTRACT_TOOLS = ["function", "file-search", "code-interpreter", "mcp", "web-search", "image-generation",
                  "computer-use", "ai-search", "web-grounding", "sharepoint", "fabric", "openapi", "agent"]


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def offered(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, CatalogTool]]:
    """The shipped catalog with a few offers switched on, so that the accepting paths are exercised whatever the
    shipped data says today: mcp native on responses only (inference's offer off), file-search native on responses
    and app on inference, sharepoint a connection on agents; web-search gains a package and a setting on responses."""
    real = catalog.tools()
    patched = dict(real)

    def offer(name: str, **runtimes: str) -> None:
        tool = real[name]
        patched[name] = tool.model_copy(update={"runtimes": {**tool.runtimes, **{Runtime(k): v for k, v in
                                                                                   runtimes.items()}}})

    offer("mcp", responses="native", agents="none", inference="none")  # responses only here, whatever others generate
    off = {**real["mcp"].why, Runtime.INFERENCE: "off in this test", Runtime.AGENTS: "off in this test"}
    patched["mcp"] = patched["mcp"].model_copy(update={"why": off})
    offer("file-search", responses="native", inference="app", agents="none")
    offer("sharepoint", agents="connection")
    offer("web-search", responses="native")
    ws = patched["web-search"]
    patched["web-search"] = ws.model_copy(update={"needs": {Runtime.RESPONSES: catalog.ToolNeeds(
        packages=("httpx-sse>=0.4",),
        settings={"APP_WEB_SEARCH_COUNTRY": catalog.ToolSetting(type="str", default="", description="country")},
    )}})
    monkeypatch.setattr(catalog, "tools", lambda: patched)
    yield patched


# --- the catalog data ---------------------------------------------------------------------------------------------

def test_catalog_has_every_contract_tool_with_sources() -> None:
    tools = catalog.tools()
    assert list(tools) == CONTRACT_TOOLS
    sources = catalog.tool_sources()
    for tool in tools.values():
        assert tool.sources, tool.name
        for key in tool.sources:
            assert sources[key].url.startswith("https://learn.microsoft.com/"), key
            assert sources[key].ms_date.year >= 2025
    assert tools["function"].always and all(tools["function"].offer(r) == "app" for r in Runtime)
    assert tools["computer-use"].docs_only and tools["computer-use"].preview
    assert "aka.ms/oai/cuaaccess" in tools["computer-use"].why[Runtime.RESPONSES]
    assert tools["sharepoint"].limits.max_per_agent == 1 and tools["fabric"].limits.max_per_agent == 1
    assert tools["mcp"].options["approval"].choices == ("always", "never")
    assert tools["mcp"].options["approval"].default == "always"  # the Responses API's own default (Learn)
    assert tools["image-generation"].preview


def test_catalog_offers_are_valid_and_every_none_says_why() -> None:
    for tool in catalog.tools().values():
        for runtime in Runtime:
            assert tool.offer(runtime) in catalog.RUNTIME_OFFERS[runtime]
            if tool.offer(runtime) == "none":
                assert tool.why.get(runtime), (tool.name, runtime)
        for need in tool.needs.values():
            for pkg in need.packages:
                assert re.fullmatch(r"[A-Za-z0-9_.\[\]-]+>=[0-9][\w.]*(,<[\w.]+)?", pkg), pkg


def test_catalog_refuses_an_offer_a_runtime_cannot_make(monkeypatch: pytest.MonkeyPatch) -> None:
    doc = catalog._tools_doc()
    broken = {**doc, "tools": {**doc["tools"], "mcp": {**doc["tools"]["mcp"],
                                                       "runtimes": {"responses": "native", "agents": "native",
                                                                    "inference": "native"}}}}
    monkeypatch.setattr(catalog, "_tools_doc", lambda: broken)
    with pytest.raises(ValueError, match="inference cannot offer 'native'"):
        catalog.tools.__wrapped__()


# --- parsing ------------------------------------------------------------------------------------------------------

def test_parse_tool_option() -> None:
    assert parse_tool_option("mcp,url=https://x/mcp,label=docs,approval=never") == {
        "name": "mcp", "options": {"url": "https://x/mcp", "label": "docs", "approval": "never"}}
    assert parse_tool_option(" File-Search ") == {"name": "file-search", "options": {}}
    for bad, what in [("", "no tool name"), ("mcp,url", "not key=value"), ("mcp,=x", "not key=value"),
                      ("mcp,a=1,a=2", "given twice")]:
        with pytest.raises(SpecError, match=what):
            parse_tool_option(bad)


_token = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=1, max_size=12)


@given(name=_token, pairs=st.dictionaries(_token, st.text(alphabet="abcxyz:/._-;0123456789", max_size=20),
                                          max_size=4))
def test_parse_tool_option_round_trips(name: str, pairs: dict[str, str]) -> None:
    text = ",".join([name, *(f"{k}={v}" for k, v in pairs.items())])
    assert parse_tool_option(text) == {"name": name, "options": pairs}


# --- validation in the spec ---------------------------------------------------------------------------------------

def test_unknown_tool_suggests_close_names() -> None:
    with pytest.raises(SpecError, match=r"unknown tool 'mpc'; did you mean mcp\?") as info:
        make_spec(tools=["mpc"])
    assert "--tool" in (info.value.hint or "")


def test_tool_the_runtime_does_not_offer_names_the_runtimes_that_do(offered: dict[str, CatalogTool]) -> None:
    with pytest.raises(SpecError) as info:
        make_spec("inference", tools=["mcp,url=https://x/mcp,label=docs"])
    message = info.value.message
    assert "mcp is not offered on the" in message and "offered by responses (native)" in message
    assert "use --runtime responses" in message
    with pytest.raises(SpecError, match=r"offered by responses \(native\), inference \(app\)"):
        make_spec("agents", tools=["file-search"])


def test_shipped_catalog_refuses_what_no_runtime_generates() -> None:
    # Until an implementation lands, the catalog says `none` and the error says so (never a repo that claims it).
    for tool in catalog.tools().values():
        if tool.always or tool.docs_only or tool.offered_by():
            continue
        with pytest.raises(SpecError, match="no runtime of this foundry-scaffolder version generates it yet"):
            make_spec("responses", tools=[tool.name])


def test_always_and_docs_only_tools_are_refused_with_why() -> None:
    with pytest.raises(SpecError, match="function tools are always generated"):
        make_spec(tools=["function"])
    with pytest.raises(SpecError, match=r"described in the generated README only.*aka\.ms/oai/cuaaccess"):
        make_spec(tools=["computer-use"])


def test_tool_options_are_checked_and_defaults_filled(offered: dict[str, CatalogTool]) -> None:
    spec = make_spec(tools=["mcp,url=https://x.example/mcp,label=docs"])
    assert [t.model_dump() for t in spec.tools] == [
        {"name": "mcp", "options": {"url": "https://x.example/mcp", "label": "docs", "approval": "always",
                                    "allowed_tools": ""}}]
    cases = [
        ("mcp,label=docs", r"mcp needs url=\.\.\.: .* \(e\.g\. --tool mcp,url=https://mcp\.example\.com/mcp,label=docs\)"),
        ("mcp,url=https://x/mcp,label=docs,aproval=never", r"unknown option 'aproval'; did you mean approval\?"),
        ("mcp,url=https://x/mcp,label=docs,approval=sometimes", r"approval='sometimes' is not one of always, never"),
        ("mcp,url=ftp://x,label=docs", r"url='ftp://x' is not valid"),
        ("mcp,url=https://x/mcp,label=1docs", r"label='1docs' is not valid"),
        ("file-search,x=1", r"file-search: unknown option 'x' \(options: none\)"),
    ]
    for flag, message in cases:
        with pytest.raises(SpecError, match=message):
            make_spec(tools=[flag])


def test_each_tool_once_and_catalog_order(offered: dict[str, CatalogTool]) -> None:
    with pytest.raises(SpecError, match="--tool file-search is given 2 times"):
        make_spec(tools=["file-search", "file-search"])
    with pytest.raises(SpecError, match=r"given 2 times; each tool at most once \(the platform allows 1 per agent\)"):
        make_spec("agents", tools=["sharepoint", "sharepoint"])
    spec = make_spec(tools=["mcp,url=https://x/mcp,label=a", "file-search"])
    assert [t.name for t in spec.tools] == ["file-search", "mcp"]


def test_framework_is_inference_only_and_must_be_generated(monkeypatch: pytest.MonkeyPatch) -> None:
    from scaffolder import spec as spec_module

    with pytest.raises(SpecError, match="--framework langchain applies to the inference runtime only"):
        make_spec("responses", framework="langchain")
    assert spec_module._frameworks_generated() == ("openai", "langchain")  # templates/inference/layer.yaml
    assert make_spec("inference").framework == "openai"
    assert make_spec("inference", framework="langchain").framework == "langchain"
    # A framework the templates do not (or no longer) generate is refused, naming those they do.
    monkeypatch.setattr(spec_module, "_frameworks_generated", lambda: ("openai",))
    with pytest.raises(SpecError, match="--framework langchain is not generated by this version; frameworks: openai"):
        make_spec("inference", framework="langchain")


LANGCHAIN_FILES = ("src/demo/langchain_model.py", "tests/test_langchain.py")


def test_framework_langchain_adds_its_module_tests_packages_and_readme_and_nothing_else() -> None:
    plain, chained = plan_files(make_spec("inference")), plan_files(make_spec("inference", framework="langchain"))
    assert set(chained.paths()) - set(plain.paths()) == set(LANGCHAIN_FILES)
    assert not set(plain.paths()) - set(chained.paths())
    assert yaml.safe_load(chained.text(".scaffolder.yml"))["spec"]["framework"] == "langchain"
    deps = tomllib.loads(chained.text("pyproject.toml"))["project"]["dependencies"]
    assert {"langchain-openai>=1.7.4", "langchain-core>=1.7.5"} <= set(deps)
    assert not [d for d in tomllib.loads(plain.text("pyproject.toml"))["project"]["dependencies"] if "langchain" in d]
    chat = chained.text("src/demo/chat.py")
    assert "langchain_model.chat_model(settings, credential)" in chat and "openai_client" not in chat
    assert "langchain" not in plain.text("src/demo/chat.py").lower()
    # The README says which framework the repo uses, and lists the module; the plain one names no framework.
    readme = chained.text("README.md")
    assert "### Framework: LangChain" in readme and "`--framework langchain`" in readme
    assert "| `langchain_model.py` |" in readme
    assert "langchain" not in plain.text("README.md").lower()
    # Everything else is the same file, byte for byte (the framework changes only the model call).
    changed = {p for p in plain.paths() if plain.get(p).content != chained.get(p).content}
    assert changed == {"src/demo/chat.py", "pyproject.toml", "README.md", ".scaffolder.yml", "tests/conftest.py"}


def test_framework_langchain_with_the_inference_tools_keeps_them_in_the_loop() -> None:
    plan = plan_files(make_spec("inference", framework="langchain",
                                tools=["mcp,url=https://x.example/mcp,label=docs", "file-search"]))
    chat = plan.text("src/demo/chat.py")
    # The tools run in the app's loop whatever makes the model call; file search embeds with the plain client.
    assert "mcp=McpTools(settings)" in chat and "files=FileSearch(settings, client, cred)" in chat
    assert "langchain_model.chat_model(settings, cred)" in chat


# --- generation ---------------------------------------------------------------------------------------------------

def test_answers_context_and_readme_follow_the_chosen_tools(offered: dict[str, CatalogTool]) -> None:
    spec = make_spec(tools=["web-search", "mcp,url=https://x.example/mcp,label=docs,approval=never"])
    plan = plan_files(spec)
    answers = yaml.safe_load(plan.text(".scaffolder.yml"))["spec"]
    assert answers["tools"] == [
        {"name": "mcp", "options": {"url": "https://x.example/mcp", "label": "docs", "approval": "never",
                                    "allowed_tools": ""}},
        {"name": "web-search", "options": {}},
    ]
    assert answers["framework"] == "openai"
    readme = plan.text("README.md")
    section = readme[readme.index("### Tools"):readme.index("Settings (see `.env.example`)")]
    chosen = re.findall(r"^- \*\*(.+?)\*\* \(`([a-z-]+)`", section, flags=re.M)
    assert [name for _, name in chosen] == ["function", "mcp", "web-search"]
    assert "url=`https://x.example/mcp`" in section
    # the other tools the runtime offers, with the flag that adds them; never a chosen or unoffered one
    assert "`--tool file-search`" in section
    assert "--tool sharepoint" not in section and "--tool web-search" not in section
    assert "aka.ms/oai/cuaaccess" in section  # computer use: described only, with its access requirement
    # catalog needs flow into the settings and dependencies with no per-tool template code
    assert "APP_WEB_SEARCH_COUNTRY" in plan.text(".env.example")
    assert "app_web_search_country" in plan.text("src/demo/settings.py")
    assert "httpx-sse>=0.4" in plan.text("pyproject.toml")
    assert "APP_WEB_SEARCH_COUNTRY" in readme


def test_repo_without_tools_lists_only_function_tools() -> None:
    readme = plan_files(make_spec()).text("README.md")
    section = readme[readme.index("### Tools"):readme.index("Settings (see `.env.example`)")]
    assert re.findall(r"^- \*\*(.+?)\*\* \(`", section, flags=re.M) == ["Function calling"]
    # the others this runtime offers, each with the flag that adds it
    offered = [t for t in catalog.tools().values() if not t.always and t.offer(Runtime.RESPONSES) != "none"]
    flags = re.findall(r"^- \*\*.+?\*\*: `(--tool [^`]+)`", section, flags=re.M)
    assert [f.split()[1].split(",")[0] for f in flags] == [t.name for t in offered]
    # each flag works as printed (review-15 LOW-9)
    assert {t.name for t in make_spec(tools=[f.split()[1] for f in flags]).tools} == {t.name for t in offered}
    assert yaml.safe_load(plan_files(make_spec()).text(".scaffolder.yml"))["spec"]["tools"] == []


# --- CLI ----------------------------------------------------------------------------------------------------------

def test_cli_unknown_tool_is_one_line_exit_2_nothing_written(tmp_path: Path) -> None:
    code, out, err = run("new", "demo", "-r", "responses", "--tool", "mpc", "--no-input", "--no-git",
                         "-o", str(tmp_path))
    assert code == 2 and out == ""
    assert err.startswith("error: unknown tool 'mpc'; did you mean mcp?")
    assert "Traceback" not in err and len(err.strip().splitlines()) == 2  # the error and its hint
    assert list(tmp_path.iterdir()) == []


def test_cli_tool_not_offered_exit_2_nothing_written(tmp_path: Path, offered: dict[str, CatalogTool]) -> None:
    code, _, err = run("new", "demo", "-r", "inference", "--tool", "mcp,url=https://x/mcp,label=docs",
                       "--no-input", "--no-git", "-o", str(tmp_path))
    assert code == 2
    assert "offered by responses (native); use --runtime responses" in err
    assert list(tmp_path.iterdir()) == []


def test_cli_new_records_tools(tmp_path: Path, offered: dict[str, CatalogTool]) -> None:
    code, _, err = run("new", "demo", "-r", "responses", "--tool", "file-search",
                       "-t", "mcp,url=https://x.example/mcp,label=docs,approval=never", "--no-input", "--no-git",
                       "-o", str(tmp_path))
    assert code == 0, err
    doc = yaml.safe_load((tmp_path / "demo" / ".scaffolder.yml").read_text())
    assert [t["name"] for t in doc["spec"]["tools"]] == ["file-search", "mcp"]
    assert doc["spec"]["tools"][1]["options"]["approval"] == "never"


def test_cli_tools_lists_the_catalog() -> None:
    code, out, _ = run("tools")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["tool", "responses", "agents", "inference", "preview", "add", "with"]
    rows = {line.split()[0]: line.split() for line in lines[1:len(CONTRACT_TOOLS) + 1]}
    assert list(rows) == CONTRACT_TOOLS
    assert rows["function"][1:4] == ["app", "app", "app"] and "always on" in " ".join(rows["function"])
    assert "docs only" in " ".join(rows["computer-use"])
    assert "--tool mcp,url=https://mcp.example.com/mcp,label=docs" in " ".join(rows["mcp"])
    code, out, _ = run("tools", "--runtime", "responses")
    assert code == 0 and "Not offered on responses:" in out
    assert "computer-use: access to the computer-use-preview model is by application" in out


def test_cli_tools_json(offered: dict[str, CatalogTool]) -> None:
    code, out, _ = run("tools", "--json", "-r", "inference")
    assert code == 0
    doc = {row["name"]: row for row in json.loads(out)}
    assert list(doc) == CONTRACT_TOOLS
    assert doc["file-search"]["runtimes"] == {"inference": {"offer": "app"}}
    assert doc["mcp"]["runtimes"]["inference"]["offer"] == "none" and doc["mcp"]["runtimes"]["inference"]["why"]
    assert doc["mcp"]["flag"] == "--tool mcp,url=https://mcp.example.com/mcp,label=docs"
    assert doc["mcp"]["options"]["approval"]["choices"] == ["always", "never"]
    assert all(s["url"].startswith("https://") and s["ms_date"] for s in doc["mcp"]["sources"])
    assert json.loads(json.dumps(listing(Runtime.INFERENCE))) == json.loads(out)


# --- standards ----------------------------------------------------------------------------------------------------

def _standards(tmp_path: Path, body: dict[str, Any]) -> Path:
    path = tmp_path / "standards.yml"
    path.write_text(yaml.safe_dump({"tools": body}))
    return path


def test_standards_tool_names_are_checked(tmp_path: Path) -> None:
    with pytest.raises(StandardsError, match=r"standards\.yml:2: tools\.denied: unknown tool 'mpc'; did you mean mcp"):
        load(_standards(tmp_path, {"denied": ["mpc"]}))
    with pytest.raises(StandardsError, match="tool 'mcp' is both required and denied"):
        load(_standards(tmp_path, {"denied": ["mcp"], "required": ["mcp"]}))
    with pytest.raises(StandardsError, match="function tools are always generated"):
        load(_standards(tmp_path, {"denied": ["function"]}))


def test_standards_deny_allow_and_require_tools(tmp_path: Path, offered: dict[str, CatalogTool]) -> None:
    out = tmp_path / "out"
    denied = _standards(tmp_path, {"denied": ["mcp"]})
    code, _, err = run("new", "demo", "-r", "responses", "--tool", "mcp,url=https://x/mcp,label=d", "--no-input",
                       "--no-git", "--standards", str(denied), "-o", str(out))
    assert code == 3 and "tool mcp is denied by the standards" in err and "tools.denied" in err
    assert not out.exists()
    allowed = _standards(tmp_path, {"allowed": ["file-search"]})
    code, _, err = run("new", "demo", "-r", "responses", "--tool", "web-search", "--no-input", "--no-git",
                       "--standards", str(allowed), "-o", str(out))
    assert code == 3 and "tool web-search is not allowed by the standards; allowed: file-search" in err
    required = _standards(tmp_path, {"required": ["file-search"]})
    code, _, err = run("new", "demo", "-r", "agents", "--no-input", "--no-git", "--standards", str(required),
                       "-o", str(out))
    assert code == 3 and "tools.required" in err and "offered by: responses, inference" in err
    assert not out.exists()
    # a required tool the runtime offers is added by itself, and recorded
    code, _, err = run("new", "demo", "-r", "responses", "--no-input", "--no-git", "--standards", str(required),
                       "-o", str(out))
    assert code == 0, err
    assert yaml.safe_load((out / "demo" / ".scaffolder.yml").read_text())["spec"]["tools"] == [
        {"name": "file-search", "options": {}}]


# --- recommend ----------------------------------------------------------------------------------------------------

def test_recommend_follows_wanted_tools(offered: dict[str, CatalogTool]) -> None:
    rec = decision.recommend({}, tools=["sharepoint"])
    assert rec.runtime is Runtime.AGENTS
    assert any("sharepoint is offered by agents (connection)" in r for r in rec.reasons)
    assert rec.command("bot") == ("scaffolder new bot --runtime agents --tool sharepoint,"
                                  "site=https://contoso.sharepoint.com/sites/docs")  # a flag that works (LOW-9)
    # state=no prefers inference; file-search is offered there (app) and on responses: the answers decide among them
    rec = decision.recommend({"state": "no"}, tools=["file-search"])
    assert rec.runtime is Runtime.INFERENCE
    # an answer requiring inference, and a tool only responses offers: the tool's runtime, with the conflict said
    rec = decision.recommend({"models": "now"}, tools=["mcp"])
    assert rec.runtime is Runtime.RESPONSES
    assert any("offered only by responses" in c for c in rec.conflicts)
    assert rec.command() == "scaffolder new NAME --runtime responses --tool mcp,url=https://mcp.example.com/mcp,label=docs"
    rec = decision.recommend({}, tools=["mcp", "sharepoint"])
    assert any(c.startswith("no runtime offers all the wanted tools together") for c in rec.conflicts)
    with pytest.raises(SpecError, match="unknown tool 'mpc'"):
        decision.recommend({}, tools=["mpc"])
    assert runtimes_offering(["mcp"]) == [Runtime.RESPONSES]


def test_cli_recommend_with_tool(offered: dict[str, CatalogTool]) -> None:
    code, out, _ = run("recommend", "--tool", "sharepoint", "--no-input", "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["runtime"] == "agents" and doc["tools"] == ["sharepoint"]
    assert doc["command"].endswith("--runtime agents --tool sharepoint,site=https://contoso.sharepoint.com/sites/docs")


def test_new_from_decision_honours_tools(tmp_path: Path, offered: dict[str, CatalogTool]) -> None:
    spec = make_spec(None, decision_answers={"state": "no"}, tools=["mcp,url=https://x/mcp,label=d"])
    assert spec.runtime is Runtime.RESPONSES  # state=no alone would pick inference, which does not offer mcp


def test_check_tool_returns_options_in_catalog_order(offered: dict[str, CatalogTool]) -> None:
    options = check_tool("mcp", {"approval": "never", "label": "x", "url": "https://x"}, Runtime.RESPONSES)
    assert list(options) == ["url", "label", "approval", "allowed_tools"]
