"""Inference runtime's state layer: per-turn load + trim + append time at 10 to 10,000 stored messages.

Generates an inference repo into a temporary directory with the public API, then runs that repo's own
bench/state_layer.py (the benchmark users keep) with this interpreter. The generated state layer is
standard library only, so nothing needs installing. Target: <= 2 ms per turn at 1,000 messages, cost
growing no worse than linearly. Extra arguments go to the generated bench (--repeats, --budget, --sizes).

Run: python bench/state_layer.py [--repeats 31]
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main() -> None:
    from scaffolder import new, resolve_spec

    with tempfile.TemporaryDirectory() as tmp:
        spec = resolve_spec(name="statebench", runtime="inference", location="eastus2",
                            models=["Mistral-Large-2411", "gpt-4.1-mini"])
        target = Path(tmp) / spec.name
        new(spec, target)
        done = subprocess.run([sys.executable, str(target / "bench" / "state_layer.py"), *sys.argv[1:]])
    raise SystemExit(done.returncode)


if __name__ == "__main__":
    main()
