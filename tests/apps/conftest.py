"""Generated, installed repos, one per runtime, built once per session and shared by every module that needs it.

A runtime's own module says which repo it uses with RUNTIME = "<runtime>"; test_generated_repos.py asks for
each runtime in turn.
"""

from __future__ import annotations

import pytest

from tests.apps.harness import AppRepo, build_app


@pytest.fixture(scope="session")
def app_repos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, AppRepo]:
    """Cache of built repos by runtime (generate with `scaffolder new`, `pip install -e .[dev]`: the slow part)."""
    return {}


def repo_for(runtime: str, cache: dict[str, AppRepo], tmp_path_factory: pytest.TempPathFactory) -> AppRepo:
    if runtime not in cache:
        repo = build_app(runtime, tmp_path_factory.mktemp(f"{runtime}-app"))
        print(f"\n{runtime}: venv + pip install -e .[dev] took {repo.install_seconds:.1f}s")
        cache[runtime] = repo
    return cache[runtime]


@pytest.fixture(scope="module")
def app_repo(
    request: pytest.FixtureRequest, app_repos: dict[str, AppRepo], tmp_path_factory: pytest.TempPathFactory
) -> AppRepo:
    """The repo of the module's RUNTIME."""
    return repo_for(request.module.RUNTIME, app_repos, tmp_path_factory)
