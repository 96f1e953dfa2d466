"""An inference repo generated with `--framework langchain`: LangChain's ChatOpenAI installs from the package index
like any dependency, the repo's own suite (every chat, failure, API and CLI test, through LangChain, plus its
LangChain wire tests) passes against the strict fake service, ruff and mypy --strict are clean, and `scaffolder
check --offline` passes."""

from __future__ import annotations

import pytest

from tests.apps.harness import _run, build_app, clean_env, scaffolder_command

pytestmark = pytest.mark.slow


def test_a_langchain_repo_passes_its_tests_lint_types_and_check(tmp_path_factory: pytest.TempPathFactory) -> None:
    workdir = tmp_path_factory.mktemp("inference-langchain")
    app = build_app("inference", workdir, "lc-app", framework="langchain")
    assert (app.root / "src" / "lc_app" / "langchain_model.py").is_file()
    imported = app.run("python", "-c", "import langchain_openai, langchain_core; print(langchain_openai.__name__)")
    assert imported.returncode == 0, imported.stderr
    run = app.pytest()
    print(f"\ninference --framework langchain: generated suite {run.counts} in {run.seconds:.1f}s "
          f"(install {app.install_seconds:.0f}s)")
    assert run.returncode == 0, run.output[-6000:]
    assert not {"failed", "error", "errors"} & set(run.counts), run.counts
    assert run.counts.get("passed", 0) >= 150, run.output[-2000:]
    assert "test_langchain.py" in app.run("python", "-m", "pytest", "--collect-only", "-q").stdout
    for result in (app.run("ruff", "check", "."), app.mypy()):
        assert result.returncode == 0, result.stdout + result.stderr
    check = _run([*scaffolder_command(), "check", "--offline", str(app.root)], workdir, clean_env(), 900)
    assert check.returncode == 0, check.stdout + check.stderr
    readme = (app.root / "README.md").read_text(encoding="utf-8")
    assert "### Framework: LangChain" in readme
