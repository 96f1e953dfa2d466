"""The per-run sharing of generated app repos (tests/apps/conftest.py): built once, reused, edited only as copies."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.apps import conftest as apps
from tests.apps.harness import AppRepo


def _fake_build(calls: list[str]) -> Callable[[str, Path], AppRepo]:
    def build(runtime: str, workdir: Path) -> AppRepo:
        calls.append(runtime)
        root = workdir / f"{runtime}-app"
        (root / "src" / "pkg" / "__pycache__").mkdir(parents=True)
        (root / "src" / "pkg" / "mod.py").write_text("x = 1\n")
        (root / "src" / "pkg" / "__pycache__" / "mod.cpython-311.pyc").write_bytes(b"stale")
        return AppRepo(runtime, f"{runtime}-app", root, workdir / ".venv")

    return build


def test_a_runtime_is_built_once_per_run_and_reused_by_a_later_process(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    monkeypatch.setattr(apps, "build_app", _fake_build(calls))
    runtime = f"probe-{uuid.uuid4().hex[:8]}"  # the run directory is shared with the real builds
    first = apps.repo_for(runtime, {}, tmp_path_factory)
    # A fresh cache stands for another xdist worker: it finds the recorded build instead of building again.
    again = apps.repo_for(runtime, {}, tmp_path_factory)
    assert calls == [runtime]
    assert (again.project, again.root, again.venv) == (first.project, first.root, first.venv)
    assert first.root.is_relative_to(apps.run_dir(tmp_path_factory))


def test_a_working_copy_has_the_files_but_no_bytecode_and_runs_its_own_src(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(apps, "build_app", _fake_build([]))
    shared = apps.repo_for(f"probe-{uuid.uuid4().hex[:8]}", {}, tmp_path_factory)
    copy = apps.working_copy(shared, tmp_path)
    assert (copy.root / "src" / "pkg" / "mod.py").read_text() == "x = 1\n"
    assert not (copy.root / "src" / "pkg" / "__pycache__").exists()
    assert copy.venv == shared.venv and copy.root != shared.root
    assert apps.copy_env(copy)["PYTHONPATH"] == str(copy.root / "src")
