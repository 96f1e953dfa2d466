"""The suite itself: outside data found in one place and skipped with one reason when absent; slow tests opt-in."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
UNITS = "tests/validate/test_validate_units.py"


def _pytest(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SCAFFOLDER_", "PYTEST_"))}
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rs", *args],
                          cwd=REPO, env={**clean, **env}, capture_output=True, text=True, timeout=300, check=False)


def test_tests_reading_outside_data_skip_with_one_reason_when_it_is_absent(tmp_path: Path) -> None:
    run = _pytest(UNITS + "::test_bicep_types_backend_reports_unknown_versions_and_providers",
                  "tests/test_consistency.py::test_azd_schema_rejects_a_broken_azure_yaml",
                  SCAFFOLDER_SHARED_DIR=str(tmp_path))
    assert run.returncode == 0, run.stdout[-2000:]
    assert re.search(r"\b2 skipped\b", run.stdout), run.stdout[-2000:]
    reasons = re.findall(r"^SKIPPED \[\d+\] \S+: (.*)$", run.stdout, flags=re.MULTILINE)
    assert len(reasons) == 2
    assert all(r.startswith(f"outside data absent: {tmp_path}") and "SCAFFOLDER_SHARED_DIR" in r for r in reasons)


def test_no_test_reads_outside_data_except_through_the_conftest_helper() -> None:
    # One place decides where ../shared is; a test computing the path itself would not skip (or skip differently).
    offenders = []
    for path in (REPO / "tests").rglob("*.py"):
        if (path.name == "conftest.py" and path.parent.name == "tests") or "snapshots" in path.parts:
            continue
        text = path.read_text()
        # ...nor skip for the data's absence by its own skipif on an availability probe and its own reason: .ci/run's
        # "nothing may skip for lack of data" looks for the shared fixture's reason only.
        if re.search(r"""["']shared["']|parents\[\d\]\s*/\s*["']\.\.["']|skipif\(\s*not\s+[\w.]+\.available\(\)"""
                     r"""|needs \.\./shared""", text):
            offenders.append(path.relative_to(REPO).as_posix())
    assert offenders == []


SLOW_PROBE = """
import pytest

@pytest.mark.slow
def test_exhaustive():
    pass

def test_everyday():
    pass
"""


def _probe(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, *args: str, **env: str) -> pytest.RunResult:
    pytester.makeconftest((REPO / "tests" / "conftest.py").read_text())
    pytester.makepyfile(test_probe=SLOW_PROBE)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return pytester.runpytest_inprocess("-rs", *args)


def test_slow_tests_are_skipped_by_default_with_their_reason(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = _probe(pytester, monkeypatch)
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*slow: runs in CI (.ci/run); add --slow or set SCAFFOLDER_SLOW_TESTS=1*"])


@pytest.mark.parametrize(("args", "env"), [(("--slow",), {}), ((), {"SCAFFOLDER_SLOW_TESTS": "1"})])
def test_slow_tests_run_when_asked(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...], env: dict[str, str]
) -> None:
    _probe(pytester, monkeypatch, *args, **env).assert_outcomes(passed=2)


@pytest.mark.parametrize("copy", range(3))
def test_tests_sharing_a_grouped_fixture_are_scheduled_as_one_group(
    copy: int, group_probe: str, request: pytest.FixtureRequest
) -> None:
    # Under `--dist loadgroup` the scheduler groups by the `@group` suffix of the test id; if the suffix is missing
    # (xdist 3.8 on pytest 9 sets an attribute pytest no longer reads), groups spread over workers silently and
    # each worker builds the shared fixture again.
    if getattr(request.config.option, "loadgroup", False):
        assert request.node.nodeid.endswith("@probe"), request.node.nodeid
