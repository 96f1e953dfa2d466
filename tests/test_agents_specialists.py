"""Specialist agents (`--tool agent,name=NAME[,instructions=TEXT]`, repeatable) on the agents runtime: parsing,
refusals (one line, exit 2, nothing written), rendering, README and docs, and `update` round-tripping them."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from scaffolder import catalog
from scaffolder._update import recorded_options, updated_spec
from scaffolder.cli import app
from scaffolder.generate._plan import template_context
from tests.helpers import make_spec
from tests.validate.cases import write_repo

runner = CliRunner()
TWO = ["agent,name=billing", "agent,name=travel,instructions=You plan trips. Keep it short."]


def new(tmp_path: Path, *args: str) -> tuple[int, str, Path]:
    out = tmp_path / "out"
    result = runner.invoke(app, ["new", "helpdesk", "--no-input", "--no-git", "-o", str(out), *args])
    return result.exit_code, result.stderr, out


def test_two_specialists_are_kept_in_flag_order_with_their_options() -> None:
    spec = make_spec("agents", name="helpdesk", tools=[*reversed(TWO), "code-interpreter"])
    assert [(t.name, t.options.get("name")) for t in spec.tools] == [
        ("code-interpreter", None), ("agent", "travel"), ("agent", "billing")]
    ctx = template_context(spec)
    assert [a["name"] for a in ctx["agents"]] == ["travel", "billing"]
    assert ctx["agents"][0]["instructions"] == "You plan trips. Keep it short."
    assert ctx["agents"][1]["instructions"].startswith("You are the billing specialist of helpdesk.")
    assert [a["connection"] for a in ctx["agents"]] == ["a2a-travel", "a2a-billing"]
    assert "agent" in ctx["tools"]


@pytest.mark.parametrize(("flags", "message"), [
    (["agent,name=billing", "agent,name=billing"], "--tool agent,name=billing is given twice"),
    (["agent,name=Billing"], "agent: name='Billing' is not valid"),
    (["agent,name=-x"], "agent: name='-x' is not valid"),
    (["agent"], "agent needs name=..."),
    (["agent,name=helpdesk"], "that is the main agent's name"),
    (["agent,name=billing,color=red"], "agent: unknown option 'color'"),
])
def test_misuse_is_one_line_exit_2_nothing_written(tmp_path: Path, flags: list[str], message: str) -> None:
    code, err, out = new(tmp_path, "-r", "agents", *(a for f in flags for a in ("--tool", f)))
    assert code == 2, err
    assert err.startswith("error: ") and message in err, err
    assert err.count("\n") <= 2 and not out.exists()  # the error line and its hint


@pytest.mark.parametrize("runtime", ["responses", "inference"])
def test_the_agent_tool_is_refused_off_the_agent_service(tmp_path: Path, runtime: str) -> None:
    code, err, out = new(tmp_path, "-r", runtime, "--tool", "agent,name=billing")
    assert code == 2 and not out.exists()
    assert err.startswith("error: agent is not offered on the")
    assert "the Agent Service's" in err and "offered by agents (connection)" in err
    assert err.count("use --runtime agents") == 1, err  # the catalog's `why` no longer repeats the fix


def test_only_agents_offers_it_and_it_repeats() -> None:
    tool = catalog.tools()["agent"]
    assert tool.repeatable and tool.offered_by() == [catalog.Runtime.AGENTS]
    assert tool.offer(catalog.Runtime.AGENTS) == "connection"
    assert not any(t.repeatable for name, t in catalog.tools().items() if name != "agent")


def test_a_repo_with_two_specialists_renders_them(tmp_path: Path) -> None:
    repo = write_repo(make_spec("agents", name="helpdesk", tools=TWO), tmp_path / "repo")
    package = repo / "src" / "helpdesk"
    module = (package / "specialists.py").read_text()
    assert 'name="billing"' in module and 'name="travel"' in module and 'connection="a2a-travel"' in module
    assert 'AUTH_TYPE = "UserEntraToken"' in module and 'ARM_API_VERSION = "2025-04-01-preview"' in module
    assert "a2a_tools(settings)" in (package / "agent.py").read_text()
    assert "Answered with: " in (package / "chat.py").read_text()
    assert (repo / "tests" / "test_specialists.py").is_file()
    assert '("billing", ' in (repo / "tests" / "fake_service.py").read_text()
    settings = (package / "settings.py").read_text()
    assert "azure_subscription_id: str" in settings and "app_arm_endpoint: str" in settings
    # Nothing of it in Bicep: the connection is made by `agent sync` through ARM (no keyless authType in the types).
    assert "RemoteA2A" not in "".join(p.read_text() for p in (repo / "infra").rglob("*.bicep"))


def test_without_the_agent_tool_nothing_of_it_is_generated(tmp_path: Path) -> None:
    repo = write_repo(make_spec("agents", name="helpdesk", tools=["code-interpreter"]), tmp_path / "repo")
    assert not (repo / "src" / "helpdesk" / "specialists.py").exists()
    assert not (repo / "tests" / "test_specialists.py").exists()
    assert "a2a" not in (repo / "src" / "helpdesk" / "agent.py").read_text()
    assert "remote_function_call" not in (repo / "src" / "helpdesk" / "chat.py").read_text()


def test_readme_and_docs_say_what_is_done_and_the_roles(tmp_path: Path) -> None:
    repo = write_repo(make_spec("agents", name="helpdesk", tools=TWO), tmp_path / "repo")
    readme = (repo / "README.md").read_text()
    assert "(name=`billing, travel`)" in readme
    assert "creates its RemoteA2A connection `a2a-<name>` through ARM (not Bicep" in readme
    assert "| `specialists.py` |" in readme
    # No grant is added: the callers' Foundry User on the project (already in the roles table) is what A2A checks.
    roles = readme.split("## Roles granted", 1)[1].split("\n## ", 1)[0]
    user = "Foundry User (`53ca6127-db72-4b80-b1b0-d745d6d5456d`) | project |"
    assert f"| you (the deploying principal) | {user}" in roles and f"| app identity | {user}" in roles
    assert "No role is added: the specialists check Foundry User on the project" in readme
    docs = (repo / "docs" / "agent-tools.md").read_text()
    assert "## Specialist agents (agent-to-agent)" in docs
    assert "Why the connection is made by `agent sync` through ARM and not by infra/ (Bicep)" in docs
    assert "| specialist agent `travel` (A2A) |" in docs and "`UserEntraToken`" in docs
    assert "name Contributor or Owner" in docs
    # Names are project-wide (review-16b F2); a new connection may not be usable at once; no overclaimed source.
    assert "two repos deployed to one project must not declare the same specialist" in docs
    assert "two repos in one project must not declare the same specialist" in readme
    assert "if chat right\nafter the first `agent sync` says the connection is not found, wait and retry" in docs
    assert "azd's ai extension and public samples" in docs and "Microsoft's samples" not in docs


@pytest.mark.parametrize("setup", ["basic", "standard"])
def test_created_sharepoint_and_fabric_connections_are_not_stated_as_verified(tmp_path: Path, setup: str) -> None:
    tools = ["sharepoint,site=https://contoso.sharepoint.com/sites/x",
             "fabric,workspace=00000000-0000-0000-0000-000000000001,artifact=00000000-0000-0000-0000-000000000002",
             "file-search"]
    repo = write_repo(make_spec("agents", name="helpdesk", tools=tools, agent_setup=setup), tmp_path / "repo")
    readme = (repo / "README.md").read_text()
    docs = (repo / "docs" / "agent-tools.md").read_text()
    rows = [line for line in readme.splitlines() if "category `Sharepoint`" in line or "`MicrosoftFabric`" in line]
    assert len(rows) == 2
    for row, tool in zip(rows, ["sharepoint", "fabric"], strict=True):
        assert "follows community samples (no Microsoft Bicep sample shows it)" in row
        assert f"`--tool {tool},connection=<its ARM id>`" in row
    assert "follows community samples: no Microsoft Bicep sample shows" in docs
    assert "`--tool sharepoint,connection=<its ARM id>`" in docs
    row = next(line for line in docs.splitlines() if line.startswith("| file search |"))
    if setup == "standard":
        assert "this repo's Storage account" in row and "service's own storage" not in row
    else:
        assert "the service's own storage (basic agent setup)" in row


@pytest.mark.parametrize("chosen", [True, False])
def test_the_code_interpreter_setting_says_what_it_does(tmp_path: Path, chosen: bool) -> None:
    """APP_CODE_INTERPRETER cannot switch off a tool chosen at generation: its description says so (review-16 F8)."""
    repo = write_repo(make_spec("agents", name="helpdesk", tools=["code-interpreter"] if chosen else []),
                      tmp_path / "repo")
    row = next(line for line in (repo / "README.md").read_text().splitlines() if "`APP_CODE_INTERPRETER`" in line)
    assert "always has it (agent_tools.py), so there this setting changes nothing" in row
    tools = (repo / "src" / "helpdesk" / "agent_tools.py").read_text()
    assert ('"code_interpreter"' in tools) is chosen


def test_connections_given_by_id_carry_no_caveat(tmp_path: Path) -> None:
    given = ("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/"
             "Microsoft.CognitiveServices/accounts/a/projects/p/connections/sp")
    repo = write_repo(make_spec("agents", name="helpdesk", tools=[f"sharepoint,connection={given}"]), tmp_path / "r")
    assert "community samples" not in (repo / "README.md").read_text()
    assert "community samples" not in (repo / "docs" / "agent-tools.md").read_text()


def test_update_keeps_both_specialists(tmp_path: Path) -> None:
    spec = make_spec("agents", name="helpdesk", tools=TWO)
    options = recorded_options(spec)
    assert options["tools"] == ["agent,name=billing", "agent,name=travel,instructions=You plan trips. Keep it short."]
    again, _notes = updated_spec(spec, {"location": "swedencentral"})
    assert [t.options["name"] for t in again.tools if t.name == "agent"] == ["billing", "travel"]
    assert again.location == "swedencentral"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.characters(blacklist_categories=["Cs", "Cc"], blacklist_characters=","), min_size=1,
               max_size=60).filter(lambda t: t.strip() == t and t.strip()))
def test_instructions_are_written_as_python_literals_equal_to_the_flag(text: str) -> None:
    """Any instructions the option accepts (emoji, quotes, backslashes, Jinja) read back unchanged (review-16b F1:
    JSON's ASCII escapes wrote an emoji as two lone surrogates, and the repo crashed on `agent sync`)."""
    import ast

    from scaffolder.generate import plan_files

    files = plan_files(make_spec(runtime="agents", tools=[f"agent,name=helper,instructions={text}"]))
    source = next(f.content for f in files.files if str(f.path).endswith("specialists.py")).decode("utf-8")
    calls = [n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Call) and getattr(n.func, "id", "") ==
             "Specialist"]
    assert [ast.literal_eval(k.value) for c in calls for k in c.keywords if k.arg == "instructions"] == [text]
