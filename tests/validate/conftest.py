"""Fixtures for the Bicep validation tests: the 12-repo matrix, the bicep-types data, and a checkov venv."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

import pytest

from scaffolder.validate import Checkov, find_checkov_venv, install_checkov_venv
from tests.conftest import CHECKOV_VENV
from tests.validate.cases import (
    CHECKOV_DEFECTS,
    MATRIX,
    bicep_files,
    checkov_defect,
    checkov_fixture_inputs,
    sha,
    write_repo,
)


@pytest.fixture(scope="session")
def matrix_repos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The 12 generated repos (runtime x network x monitoring), keyed by combo id."""
    root = tmp_path_factory.mktemp("matrix")
    return {c.id: write_repo(c.spec(), root / c.id) for c in MATRIX}


@pytest.fixture(scope="session")
def types_dir(bicep_types_dir: Path) -> Path:
    """The shared bicep-types data, read in place (skips, naming it, when absent: tests/conftest.py)."""
    return bicep_types_dir


@pytest.fixture(scope="session")
def distinct_bicep(matrix_repos: dict[str, Path]) -> dict[str, bytes]:
    """The matrix's Bicep files once: all 12 repos carry byte-identical copies (asserted by content hash)."""
    reference: dict[str, str] | None = None
    contents: dict[str, bytes] = {}
    for combo_id, repo in matrix_repos.items():
        files = bicep_files(repo)
        digests = {path: sha(content) for path, content in files.items()}
        if reference is None:
            reference, contents = digests, files
        assert digests == reference, f"{combo_id}: Bicep files differ from the other repos'"
    return contents


@pytest.fixture(scope="session")
def checkov() -> Checkov:
    """checkov 3.3.30 from $SCAFFOLDER_CHECKOV_VENV, else the user cache the CLI uses (created there when missing)."""
    venv = find_checkov_venv(CHECKOV_VENV)
    if venv is None:
        # One installer at a time: another pytest run (or xdist worker) may be creating the same user-cache venv.
        CHECKOV_VENV.parent.mkdir(parents=True, exist_ok=True)
        with (CHECKOV_VENV.parent / "checkov-venv.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            venv = find_checkov_venv(CHECKOV_VENV) or install_checkov_venv(CHECKOV_VENV)
    return Checkov(venv, jobs=os.cpu_count() or 2)


@pytest.fixture(scope="session")
def warm_checkov(checkov: Checkov, distinct_bicep: dict[str, bytes]) -> Checkov:
    """Everything the suite scans, in one parallel batch; the tests then read cached reports."""
    inputs = list(distinct_bicep.items())
    inputs += [checkov_defect(case, distinct_bicep) for case, *_ in CHECKOV_DEFECTS]
    inputs += checkov_fixture_inputs()
    checkov.scan(inputs)
    return checkov
