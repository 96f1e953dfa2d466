"""Every runtime's generated repo: its own suite passes offline and ran enough tests, ruff and mypy --strict clean."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.apps.conftest import copy_env, repo_for, working_copy
from tests.apps.harness import AppRepo

pytestmark = pytest.mark.slow

# Per runtime: the fewest tests its suite must run, and the modules only that runtime ships.
EXPECTED = {
    "responses": (20, ()),
    "agents": (80, ("test_agent_sync", "test_agent_chat")),
    "inference": (50, ("test_state_trim", "test_state_store", "test_state_loop", "test_inference_chat")),
}


@pytest.fixture(params=sorted(EXPECTED))
def repo(
    request: pytest.FixtureRequest, app_repos: dict[str, AppRepo], tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, AppRepo]:
    return request.param, repo_for(request.param, app_repos, tmp_path_factory)


def test_generated_tests_pass_and_ran(repo: tuple[str, AppRepo]) -> None:
    runtime, app = repo
    least, modules = EXPECTED[runtime]
    for module in modules:
        assert (app.root / "tests" / f"{module}.py").is_file(), module
    run = app.pytest()
    print(f"\n{runtime}: generated suite {run.counts} in {run.seconds:.1f}s")
    assert run.returncode == 0, run.output[-6000:]
    assert run.counts.get("passed", 0) >= least, run.output[-2000:]
    assert not {"failed", "error", "errors"} & set(run.counts), run.counts


def test_generated_repo_is_lint_clean(repo: tuple[str, AppRepo]) -> None:
    result = repo[1].run("ruff", "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_generated_repo_type_checks_strictly(repo: tuple[str, AppRepo]) -> None:
    result = repo[1].mypy()
    assert result.returncode == 0, result.stdout + result.stderr


EXTRA_TOOL = '''        Tool(
            "word_count",
            "Count the words of a text.",
            {
                "type": "object",
                "properties": {"text": {"type": "string", "description": "any text"}},
                "required": ["text"],
                "additionalProperties": False,
            },
            lambda text: str(len(text.split())),
        ),
'''


def test_generated_tests_pass_with_a_tool_added_to_TOOLS(repo: tuple[str, AppRepo], tmp_path: Path) -> None:
    # The generated README invites adding function tools to TOOLS; the repo's own tests must keep passing.
    # The edit goes into a private copy (the shared repo stays read-only for tests running beside this one).
    app = working_copy(repo[1], tmp_path)
    tools = app.root / "src" / app.package / "tools.py"
    original = tools.read_text()
    end = original.index("    )\n}\n", original.index("TOOLS: dict[str, Tool] = {"))
    tools.write_text(original[:end] + EXTRA_TOOL + original[end:])
    env = copy_env(app)
    where = app.run("python", "-c", f"import {app.package}.tools as t; print(t.__file__)", env=env)
    assert where.stdout.strip() == str(tools), where.stdout + where.stderr
    run = app.pytest(env=env)
    assert run.returncode == 0, run.output[-6000:]
    assert not {"failed", "error", "errors"} & set(run.counts), run.counts
