"""An inference repo generated with every tool the inference runtime offers: its own suite (a real MCP server from the
MCP SDK, the strict AI Search fake) passes, ruff and mypy --strict are clean, and `scaffolder check` passes."""

from __future__ import annotations

import pytest

from scaffolder import catalog
from scaffolder.catalog import Runtime
from tests.apps.harness import _run, build_app, clean_env, scaffolder_command

pytestmark = pytest.mark.slow

# Values for the required options of the tools inference offers (a test server, never contacted at generation).
OPTIONS = {"mcp": "url=http://127.0.0.1:9/mcp,label=docs"}
# The generated test modules each offered tool brings.
TESTS = {"mcp": "test_mcp_tools", "file-search": "test_file_search"}


def offered() -> list[str]:
    return [t.name for t in catalog.tools().values() if t.offer(Runtime.INFERENCE) != "none" and not t.always]


def test_the_catalog_offers_what_this_test_covers() -> None:
    assert sorted(offered()) == sorted(TESTS), "a tool inference offers has no generated test module listed here"


def test_every_inference_tool_generates_a_repo_that_passes_its_tests_lint_types_and_check(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    flags = tuple(f"{name},{OPTIONS[name]}" if name in OPTIONS else name for name in offered())
    workdir = tmp_path_factory.mktemp("inference-tools")
    app = build_app("inference", workdir, "tools-app", tools=flags)
    for name in offered():
        assert (app.root / "tests" / f"{TESTS[name]}.py").is_file(), name
    run = app.pytest()
    print(f"\ninference with {', '.join(offered())}: generated suite {run.counts} in {run.seconds:.1f}s")
    assert run.returncode == 0, run.output[-6000:]
    assert not {"failed", "error", "errors"} & set(run.counts), run.counts
    assert run.counts.get("passed", 0) >= 60, run.output[-2000:]
    for result in (app.run("ruff", "check", "."), app.mypy()):
        assert result.returncode == 0, result.stdout + result.stderr
    check = _run([*scaffolder_command(), "check", str(app.root)], workdir, clean_env(), 900)
    assert check.returncode == 0, check.stdout + check.stderr
    readme = (app.root / "README.md").read_text(encoding="utf-8")
    tools_section = readme.split("### Tools", 1)[1].split("Settings (see", 1)[0]
    listed = sorted(line.split("(`", 1)[1].split("`", 1)[0] for line in tools_section.splitlines()
                    if line.startswith("- **"))
    assert listed == sorted(["function", *offered()]), "the README lists exactly the tools the repo has"
