"""The MCP tool's test server and client across runtimes (review-15 MEDIUM-14): rendered only with `mcp`, the same
server module on all three runtimes, the fakes' MCP client and its SDK in the [dev] extra where the service is the
client, and `auth=header` refused on agents with the reason and the runtimes that can."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scaffolder.cli import app
from scaffolder.generate import plan_files
from tests.helpers import make_spec

runner = CliRunner()
MCP = {"responses": "mcp,url=https://x.example/mcp,label=docs", "agents": "mcp,url=https://x.example/mcp,label=docs",
       "inference": "mcp,url=http://127.0.0.1:9/mcp,label=docs"}
SERVER, CLIENT = "tests/mcp_server.py", "tests/fake_mcp.py"


def test_the_test_server_is_rendered_only_with_mcp_and_is_the_same_module_everywhere() -> None:
    servers = {}
    for runtime, flag in MCP.items():
        with_mcp = plan_files(make_spec(runtime=runtime, tools=[flag]))
        without = plan_files(make_spec(runtime=runtime, tools=["web-search"] if runtime != "inference" else []))
        assert SERVER in with_mcp.paths() and SERVER not in without.paths(), runtime
        assert CLIENT not in without.paths(), runtime
        # The fake service is the MCP client where the service calls the server; on inference the app is.
        assert (CLIENT in with_mcp.paths()) is (runtime != "inference"), runtime
        servers[runtime] = with_mcp.text(SERVER)
        # The SDK: a test-only package where the fake is the client, the app's own dependency on inference.
        section = "dependencies = [" if runtime == "inference" else "dev = ["
        deps = with_mcp.text("pyproject.toml").split(section, 1)[1].split("\n]", 1)[0]
        assert '"mcp>=2.3"' in deps and '"httpx2>=2.10"' in deps, runtime
        assert '"mcp>=2.3"' not in without.text("pyproject.toml"), runtime
    assert len(set(servers.values())) == 1, "one server module, byte for byte, on every runtime"
    assert "MCPServer" in servers["agents"] and "streamable_http_app" in servers["agents"]


def test_each_runtime_runs_its_mcp_tests_against_the_shared_server() -> None:
    modules = {"responses": "tests/test_mcp_server.py", "agents": "tests/test_agent_tools.py",
               "inference": "tests/test_mcp_tools.py"}
    for runtime, flag in MCP.items():
        plan = plan_files(make_spec(runtime=runtime, tools=[flag]))
        assert "from mcp_server import" in plan.text(modules[runtime]), runtime
    fake = plan_files(make_spec(tools=[MCP["responses"]])).text("tests/fake_service.py")
    assert "from fake_mcp import McpUnavailable, call_tool, list_tools" in fake
    assert "MCP says: 42 pages match" not in fake, "the fake no longer makes up the server's answer"


def test_auth_token_is_refused_on_agents_naming_why_and_the_runtimes_that_can(tmp_path: Path) -> None:
    target = tmp_path / "agt"
    result = runner.invoke(app, ["new", str(target), "--runtime", "agents", "--tool", MCP["agents"] + ",auth=header",
                                 "--no-input", "--no-git"])
    assert result.exit_code == 2, result.output
    err = result.stderr
    assert err.startswith("error: mcp: auth=header is not possible on the Foundry Agent Service: ")
    assert "key-based connection" in err and "keyless" in err and "use --runtime responses or inference" in err
    assert err.count("\n") == 2 and "Traceback" not in err  # the error line and its hint
    assert not target.exists(), "nothing written"


@pytest.mark.parametrize("runtime", ["responses", "inference"])
def test_auth_token_is_accepted_and_recorded_where_the_token_is_a_setting(runtime: str) -> None:
    spec = make_spec(runtime=runtime, tools=[MCP[runtime] + ",auth=header"])
    (tool,) = spec.tools
    assert tool.options["auth"] == "header"
    assert "auth: header" in plan_files(spec).text(".scaffolder.yml")


def test_agents_readme_and_tools_listing_say_only_unauthenticated_servers_work() -> None:
    readme = plan_files(make_spec(runtime="agents", tools=[MCP["agents"]])).text("README.md")
    assert "Only an MCP server that needs no credential works here" in readme
    assert "`--runtime responses` or `--runtime inference`" in readme
    listed = runner.invoke(app, ["tools", "--runtime", "agents"])
    assert listed.exit_code == 0
    limits = listed.stdout.split("Limits on agents:", 1)[1]
    assert "mcp: only MCP servers that need no credential" in limits and "auth=header is refused" in limits
    rows = {r["name"]: r for r in json.loads(runner.invoke(app, ["tools", "--json"]).stdout)}
    assert "caveat" in rows["mcp"]["runtimes"]["agents"]
    assert "caveat" not in rows["mcp"]["runtimes"]["responses"]
    refused = rows["mcp"]["options"]["auth"]["refused"]
    assert list(refused) == ["agents"] and "key-based connection" in refused["agents"]["header"]  # not redacted
