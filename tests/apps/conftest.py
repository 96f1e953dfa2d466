"""A generated, installed repo per test module: the module says which runtime with RUNTIME = "<runtime>"."""

from __future__ import annotations

import pytest

from tests.apps.harness import AppRepo, build_app


@pytest.fixture(scope="module")
def app_repo(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> AppRepo:
    """Generate with `scaffolder new` and `pip install -e .[dev]` once per module (the slow part)."""
    runtime: str = request.module.RUNTIME
    repo = build_app(runtime, tmp_path_factory.mktemp(f"{runtime}-app"))
    print(f"\n{runtime}: venv + pip install -e .[dev] took {repo.install_seconds:.1f}s")
    return repo
