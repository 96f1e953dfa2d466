"""Interrupt `scaffolder new --force` over an existing repo at random points; count trees left mixed.

Each trial copies an "old" repo (responses runtime, one hand-edited file), starts `new demo -r inference
--force` over it in a child process and sends SIGINT or SIGKILL after a random delay. The target is then
classified: `old` (every file as before), `new` (every file as an uninterrupted run leaves it) or `mixed`.
After a SIGKILL the next run's first step (`recover`) runs, and the tree is classified again; so is what
is left beside the target (staging or journaled backup folders).

Replacing files takes a few milliseconds of a ~1 s run, so a uniformly random interrupt would almost
never land in it: the child slows each file move by --slow seconds (a slow disk) to widen the window.

Run: python bench/interrupts.py [--trials 50] [--slow 0.02] [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

CHILD = """
import sys, time
from pathlib import Path
real, delay, out = Path.replace, float(sys.argv[1]), sys.argv[2]
def slow(self, dest):
    time.sleep(delay)
    return real(self, dest)
Path.replace = slow
sys.argv = ["scaffolder", "new", "demo", "-r", "inference", "--no-input", "--force", "-o", out]
from scaffolder.cli import main
main()
"""


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def classify(target: Path, old: dict[str, bytes], new: dict[str, bytes]) -> str:
    now = tree(target) if target.is_dir() else {}
    return "old" if now == old else "new" if now == new else "mixed"


def leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith(".demo.scaffolder-"))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=50)
    ap.add_argument("--slow", type=float, default=0.02)
    ap.add_argument("--seed", type=int, default=1)
    opts = ap.parse_args()
    rng = random.Random(opts.seed)
    work = Path(tempfile.mkdtemp(prefix="interrupts-"))
    base = work / "base"
    subprocess.run([sys.executable, "-m", "scaffolder", "new", "demo", "-r", "responses", "--no-input", "-o",
                    str(base)], check=True, capture_output=True, cwd=REPO)
    (base / "demo" / "README.md").write_text("hand-written notes\n")
    old = tree(base / "demo")
    ref = work / "ref"
    shutil.copytree(base, ref)
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", CHILD, str(opts.slow), str(ref)], capture_output=True, text=True,
                          cwd=REPO, check=False)
    if done.returncode != 0:
        sys.exit(f"the reference run failed: {done.stderr.strip()[-500:]}")
    duration = time.monotonic() - started
    new = tree(ref / "demo")
    counts: dict[str, dict[str, int]] = {}
    for i in range(opts.trials):
        sig = signal.SIGINT if i % 2 == 0 else signal.SIGKILL
        trial = work / f"t{i}"
        shutil.copytree(base, trial)
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(opts.slow), str(trial)], cwd=REPO,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3 * duration, 1.05 * duration))
        child.send_signal(sig)
        child.wait()
        key = sig.name
        row = counts.setdefault(key, {"trials": 0, "old": 0, "new": 0, "mixed": 0, "left_beside": 0,
                                      "mixed_after_recover": 0, "left_after_recover": 0})
        row["trials"] += 1
        row[classify(trial / "demo", old, new)] += 1
        row["left_beside"] += bool([n for n in leftovers(trial) if "backup" not in n or sig == signal.SIGKILL])
        subprocess.run([sys.executable, "-c", "import sys; from pathlib import Path; "
                        "from scaffolder.generate._write import recover; recover(Path(sys.argv[1]))",
                        str(trial / "demo")], check=False, cwd=REPO, capture_output=True)
        row["mixed_after_recover"] += classify(trial / "demo", old, new) == "mixed"
        row["left_after_recover"] += bool([n for n in leftovers(trial) if "backup" not in n])
        shutil.rmtree(trial)
    print(json.dumps({"run_seconds": round(duration, 2), "slow_per_move": opts.slow, "results": counts}, indent=1))
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
