"""Golden snapshots: one generated repo per runtime, kept in tests/snapshots/ and reviewed in diffs.

Update deliberately with `UPDATE_SNAPSHOTS=1 pytest tests/test_snapshots.py`, then read the diff. Every file
is stored with a `.snap` suffix so that linters, type checkers and duplicate finders read it as data.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from scaffolder._new import resolve_spec
from scaffolder.generate import plan_files

SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"
SUFFIX = ".snap"
SPECS = {
    "responses": {"name": "snap-responses", "runtime": "responses", "location": "eastus2"},
    "agents": {"name": "snap-agents", "runtime": "agents", "location": "swedencentral",
               "network": "ip-restricted", "allow_ips": ["20.1.2.3"], "hosting": "none"},
    "inference": {"name": "snap-inference", "runtime": "inference", "location": "eastus2",
                  "models": ["Mistral-small-2503", "gpt-5.4-mini"], "monitoring": False},
}


@pytest.mark.parametrize("runtime", sorted(SPECS))
def test_generated_repo_matches_snapshot(runtime: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")  # 2026-01-01: the ADR date is pinned
    plan = plan_files(resolve_spec(**SPECS[runtime]))
    root = SNAPSHOTS / runtime
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        shutil.rmtree(root, ignore_errors=True)
        for f in plan.files:
            dest = root / f"{f.path}{SUFFIX}"
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(f.content)
    assert root.is_dir(), f"no snapshot for {runtime}: run UPDATE_SNAPSHOTS=1 pytest {__file__}"
    on_disk = sorted(p.relative_to(root).as_posix().removesuffix(SUFFIX) for p in root.rglob("*") if p.is_file())
    assert on_disk == plan.paths(), "files added or removed: update the snapshot deliberately"
    for f in plan.files:
        expected = (root / f"{f.path}{SUFFIX}").read_bytes()
        assert f.content == expected, f"{runtime}/{f.path} changed: review and UPDATE_SNAPSHOTS=1"
