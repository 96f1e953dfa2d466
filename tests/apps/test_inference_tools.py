"""An inference repo generated with every tool the inference runtime offers and a non-OpenAI primary model: its own
suite (a real MCP server from the MCP SDK, the strict AI Search fake) passes, ruff and mypy --strict are clean, and
`scaffolder check` passes.

The primary is a Mistral model: it changes the fake's tool-call ids and the tool gate, so the generated tests must
not assume OpenAI (review-11 finding 1); one repo proves both (each build costs about a minute of CI)."""

from __future__ import annotations

import pytest

from scaffolder import catalog
from scaffolder.catalog import Runtime
from tests.apps.harness import _run, build_app, clean_env, scaffolder_command

pytestmark = pytest.mark.slow

MODELS = ("Mistral-small-2503", "gpt-5.4-mini")
# Values for the required options of the tools inference offers (a test server, never contacted at generation).
OPTIONS = {"mcp": "url=http://127.0.0.1:9/mcp,label=docs"}
# The generated test modules each offered tool brings (mcp: its tests and the real MCP SDK server they run, the same
# tests/mcp_server.py as on responses and agents).
TESTS = {"mcp": ("test_mcp_tools", "mcp_server"), "file-search": ("test_file_search",)}


def offered() -> list[str]:
    return [t.name for t in catalog.tools().values() if t.offer(Runtime.INFERENCE) != "none" and not t.always]


def test_the_catalog_offers_what_this_test_covers() -> None:
    assert sorted(offered()) == sorted(TESTS), "a tool inference offers has no generated test module listed here"


def test_every_inference_tool_generates_a_repo_that_passes_its_tests_lint_types_and_check(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    flags = tuple(f"{name},{OPTIONS[name]}" if name in OPTIONS else name for name in offered())
    workdir = tmp_path_factory.mktemp("inference-tools")
    app = build_app("inference", workdir, "tools-app", models=MODELS, tools=flags)
    assert f"AZURE_AI_MODEL_DEPLOYMENT={MODELS[0]}" in (app.root / ".env.example").read_text(encoding="utf-8")
    for name in offered():
        for module in TESTS[name]:
            assert (app.root / "tests" / f"{module}.py").is_file(), (name, module)
    run = app.pytest()
    print(f"\ninference ({MODELS[0]} primary) with {', '.join(offered())}: generated suite {run.counts} "
          f"in {run.seconds:.1f}s")
    assert run.returncode == 0, run.output[-6000:]
    assert not {"failed", "error", "errors"} & set(run.counts), run.counts
    assert run.counts.get("passed", 0) >= 60, run.output[-2000:]
    for result in (app.run("ruff", "check", "."), app.mypy()):
        assert result.returncode == 0, result.stdout + result.stderr
    # Offline layers: checkov reads the Bicep, which is the default repo's byte for byte (parameter-driven), and
    # tests/apps/test_agents_tools_app.py and the validate matrix run it on those files.
    check = _run([*scaffolder_command(), "check", "--offline", str(app.root)], workdir, clean_env(), 900)
    assert check.returncode == 0, check.stdout + check.stderr
    readme = (app.root / "README.md").read_text(encoding="utf-8")
    tools_section = readme.split("### Tools", 1)[1].split("Settings (see", 1)[0]
    listed = sorted(line.split("(`", 1)[1].split("`", 1)[0] for line in tools_section.splitlines()
                    if line.startswith("- **"))
    assert listed == sorted(["function", *offered()]), "the README lists exactly the tools the repo has"
