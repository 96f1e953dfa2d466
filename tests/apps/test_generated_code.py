"""Every runtime's generated Python is lint-clean under its own ruff config, even with the longest project name.

Fast (no install): renders the plan to disk and runs ruff; the slow modules install and run the repos.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from scaffolder.generate import plan_files, write_plan
from scaffolder.spec import NAME_MAX
from tests.helpers import make_spec

LONGEST = ("a" + "-bcd" * 20)[:NAME_MAX]
# Every runtime, with the shortest and the longest (NAME_MAX) project name.
RUNTIMES = ["responses", "agents", "inference"]


def every_tool(runtime: str) -> list[str]:
    """A `--tool` value for each tool the runtime offers (so each tool's code is linted too)."""
    from scaffolder import catalog

    options = {
        "mcp": "mcp,url=https://mcp.example.com/mcp,label=docs,allowed_tools=search_docs;fetch",
        # the agents connectors' required options (the same values as tests/apps/test_agents_tools_app.py)
        "ai-search": "ai-search,index=docs",
        "sharepoint": "sharepoint,site=https://contoso.sharepoint.com/sites/policies",
        "fabric": "fabric,workspace=11111111-2222-3333-4444-555555555555,artifact=66666666-7777-8888-9999-000000000000",
        "openapi": "openapi,name=weather",
        "agent": "agent,name=billing",
    }
    # A repeatable tool twice (two specialist agents), the second with instructions of its own.
    again = {"agent": "agent,name=travel,instructions=You plan trips. Keep it short."}
    return [flag for t in catalog.tools().values()
            if not t.always and not t.docs_only and t.offer(catalog.Runtime(runtime)) != "none"
            for flag in (options.get(t.name, t.name), *([again[t.name]] if t.name in again else []))]


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("name", ["ab", LONGEST])
@pytest.mark.parametrize("tools", ["none", "all"])
def test_generated_python_is_ruff_clean(runtime: str, name: str, tools: str, tmp_path: Path) -> None:
    target = tmp_path / name
    chosen = every_tool(runtime) if tools == "all" else []
    write_plan(plan_files(make_spec(runtime, name=name, tools=chosen)), target, force=False)
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "concise", "."],
        cwd=target, capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
