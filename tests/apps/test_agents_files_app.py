"""An agents repo with file search: its own suite (incl. `files add` against the strict fake), ruff, mypy --strict,
the console script's `files add` end to end, and `scaffolder check` (offline layers, no checkov)."""

from __future__ import annotations

import pytest

from scaffolder.checks import check
from tests.apps.harness import build_app, fake_foundry

pytestmark = pytest.mark.slow


def test_agents_repo_with_file_search_adds_files_and_passes_its_suite(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    work = tmp_path_factory.mktemp("agents-files")
    app = build_app("agents", work, "files-agent", tools=("file-search",))
    assert (app.root / "src" / app.package / "files.py").is_file()
    assert "files add PATH..." in (app.root / "README.md").read_text(encoding="utf-8")
    run = app.pytest()
    print(f"\nagents (file search): generated suite {run.counts} in {run.seconds:.1f}s")
    assert run.returncode == 0, run.output[-6000:]
    assert run.counts.get("passed", 0) >= 60 and not {"failed", "error", "errors"} & set(run.counts), run.counts
    for result in (app.run("ruff", "check", "."), app.mypy()):
        assert result.returncode == 0, result.stdout + result.stderr
    doc = app.root / "notes.md"
    doc.write_text("Widgets ship in blue.", encoding="utf-8")
    with fake_foundry(app, work) as fake:
        fake.server.runtime.agents.clear()
        added = app.cli("files", "add", str(doc), env=fake.env)
        assert added.returncode == 0, added.stdout + added.stderr
        assert "created vector store 'files-agent-files'" in added.stdout and "added notes.md" in added.stdout
        synced = app.cli("agent", "sync", env=fake.env)
        assert synced.returncode == 0 and "created version 1" in synced.stdout, synced.stdout + synced.stderr
    checked = check(app.root, offline_only=True)
    assert checked.errors == (), checked.errors
