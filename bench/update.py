"""`scaffolder update` of an unchanged repo against `scaffolder new` of the same spec (target: <= 1.5x).

Each figure is the median of N fresh processes, the two commands alternating run by run so that load drifting
over time hits both alike; `new` writes into a fresh directory each run, `update` re-reads the same repo (a
git work tree, so the dirty-tree check runs too, as for a user). Both run with a warm Jinja bytecode cache.

Run: python bench/update.py [--runs 11] [--runtime inference]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _scaffolder() -> list[str]:
    script = Path(sys.executable).with_name("scaffolder")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "scaffolder"]


def _run(cmd: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--runtime", default="inference", choices=["responses", "agents", "inference"])
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-update-"))
    try:
        exe = _scaffolder()
        new = [*exe, "new", "demo", "--runtime", args.runtime, "--no-input"]
        _run(new, work)  # the repo to update, and a warm bytecode cache
        repo = work / "demo"
        if shutil.which("git"):
            git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com", "-C", str(repo)]
            for step in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "generated"]):
                subprocess.run([*git, *step], check=True, capture_output=True)
        update = [*exe, "update", str(repo)]
        new_times, update_times = [], []
        for i in range(args.runs):
            scratch = work / f"new-{i}"
            scratch.mkdir()
            new_times.append(_run(new, scratch))
            update_times.append(_run(update, work))
            shutil.rmtree(scratch)
        status = subprocess.run([*exe, "update", str(repo), "--check"], capture_output=True, text=True, check=False)
        assert status.returncode == 0, f"the repo should be up to date: {status.stderr}"
        n, u = statistics.median(new_times), statistics.median(update_times)
        print(f"runtime {args.runtime}, {args.runs} runs each (median of fresh processes)")
        print(f"  scaffolder new     {n * 1000:7.0f} ms")
        print(f"  scaffolder update  {u * 1000:7.0f} ms   (unchanged repo, nothing written)")
        print(f"  ratio update/new   {u / n:7.2f}x   (target <= 1.5x)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
