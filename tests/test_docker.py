"""The generated Dockerfile builds a non-root image where a Docker daemon runs (skipped, with the reason, elsewhere)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from scaffolder.generate import plan_files
from tests.helpers import make_spec


def _docker_unavailable() -> str | None:
    if shutil.which("docker") is None:
        return "no docker CLI on PATH"
    try:
        probe = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"docker info failed: {exc}"
    if probe.returncode != 0:
        return "no Docker daemon: " + (probe.stderr.strip().splitlines() or ["docker info failed"])[-1]
    return None


@pytest.mark.slow
@pytest.mark.parametrize("runtime", ["responses", "agents", "inference"])
def test_image_builds_and_runs_as_non_root(runtime: str, tmp_path: Path) -> None:
    reason = _docker_unavailable()
    if reason:
        pytest.skip(reason)
    for planned in plan_files(make_spec(runtime)).files:
        target = tmp_path / str(planned.path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(planned.content)
    tag = f"scaffolder-test-{runtime}:latest"
    build = subprocess.run(["docker", "build", "-t", tag, str(tmp_path)], capture_output=True, text=True,
                           timeout=900, check=False)
    assert build.returncode == 0, build.stderr[-3000:]
    try:
        user = subprocess.run(["docker", "run", "--rm", "--entrypoint", "id", tag, "-u"], capture_output=True,
                              text=True, timeout=120, check=True)
        assert user.stdout.strip() == "10001"
        app = subprocess.run(["docker", "run", "--rm", tag, "python", "-c", "import demo.api"],
                             capture_output=True, text=True, timeout=120, check=False)
        assert app.returncode == 0, app.stderr[-2000:]
    finally:
        subprocess.run(["docker", "rmi", "-f", tag], capture_output=True, timeout=120, check=False)
