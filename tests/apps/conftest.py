"""Generated, installed repos, one per runtime, built once per run and shared by every test that needs it.

A runtime's own module says which repo it uses with RUNTIME = "<runtime>"; test_generated_repos.py asks for
each runtime in turn. Under pytest-xdist the workers share one build per runtime: the first worker to need it
builds it under a file lock in the run's temporary directory (common to all workers), the others wait for it and
reuse it. Tests treat a shared repo as read-only; a test that edits the generated code works on a copy
(`working_copy`) that runs in the shared venv with its `src` first on PYTHONPATH.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from pathlib import Path

import pytest

from tests.apps.harness import AppRepo, build_app, clean_env


@pytest.fixture(scope="session")
def app_repos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, AppRepo]:
    """This process's cache of built repos by runtime (generate with `scaffolder new`, `pip install -e .[dev]`)."""
    return {}


def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The run's temporary directory: under xdist a worker's basetemp is <run>/gwN, so its parent is shared."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def _built(runtime: str, tmp_path_factory: pytest.TempPathFactory) -> AppRepo:
    where = run_dir(tmp_path_factory) / "shared-apps" / runtime
    where.mkdir(parents=True, exist_ok=True)
    with (where / "build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, also if the build fails
        record = where / "built.json"
        if record.is_file():
            fields = json.loads(record.read_text())
            return AppRepo(runtime, fields["project"], Path(fields["root"]), Path(fields["venv"]), 0.0)
        work = where / "work"
        shutil.rmtree(work, ignore_errors=True)  # what a build that failed half-way left behind
        work.mkdir()
        repo = build_app(runtime, work)
        print(f"\n{runtime}: venv + pip install -e .[dev] took {repo.install_seconds:.1f}s")
        record.write_text(json.dumps({"project": repo.project, "root": str(repo.root), "venv": str(repo.venv)}))
        return repo


def repo_for(runtime: str, cache: dict[str, AppRepo], tmp_path_factory: pytest.TempPathFactory) -> AppRepo:
    if runtime not in cache:
        cache[runtime] = _built(runtime, tmp_path_factory)
    return cache[runtime]


def working_copy(repo: AppRepo, destination: Path) -> AppRepo:
    """A private copy of a shared repo's files (not its venv) to edit; run it with `copy_env`."""
    root = destination / repo.project
    shutil.copytree(repo.root, root, ignore=shutil.ignore_patterns("__pycache__", ".mypy_cache", ".ruff_cache"))
    return AppRepo(repo.runtime, repo.project, root, repo.venv)


def copy_env(copy: AppRepo, **extra: str) -> dict[str, str]:
    """The clean environment with the copy's `src` first on PYTHONPATH, ahead of the venv's editable install."""
    return clean_env(PYTHONPATH=str(copy.root / "src"), **extra)


@pytest.fixture(scope="module")
def app_repo(
    request: pytest.FixtureRequest, app_repos: dict[str, AppRepo], tmp_path_factory: pytest.TempPathFactory
) -> AppRepo:
    """The repo of the module's RUNTIME."""
    return repo_for(request.module.RUNTIME, app_repos, tmp_path_factory)
