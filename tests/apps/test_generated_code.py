"""Every runtime's generated Python is lint-clean under its own ruff config, even with the longest project name.

Fast (no install): renders the plan to disk and runs ruff; the slow modules install and run the repos.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from scaffolder.generate import plan_files, write_plan
from scaffolder.spec import NAME_MAX
from tests.helpers import make_spec

LONGEST = ("a" + "-bcd" * 20)[:NAME_MAX]
# Every runtime, with the shortest and the longest (NAME_MAX) project name.
RUNTIMES = ["responses", "agents", "inference"]


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("name", ["ab", LONGEST])
def test_generated_python_is_ruff_clean(runtime: str, name: str, tmp_path: Path) -> None:
    target = tmp_path / name
    write_plan(plan_files(make_spec(runtime, name=name)), target, force=False)
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "concise", "."],
        cwd=target, capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
