from __future__ import annotations

from pathlib import Path
from typing import Any

from emulator import ArmEmulator

from scaffolder.provisioning.api import provision


def test_clean_apply_then_rerun_sends_no_writes(arm: ArmEmulator, repo: Path, kw: dict[str, Any]) -> None:
    first = provision(repo, **kw)
    assert first.applied
    assert {c.action for c in first.changes} == {"create"}
    assert not arm.validation_errors
    writes = arm.writes()
    assert writes > 0
    arm.reset_log()
    second = provision(repo, **kw)
    assert {c.action for c in second.changes} == {"unchanged"}
    assert arm.writes() == 0, arm.methods()
    assert second.outputs == first.outputs
