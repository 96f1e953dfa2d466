"""CLI speed, as ratios measured in one run (median of N fresh processes each).

1. `scaffolder --help` against a bare typer app with the same command names (the floor for a typer CLI).
   Target: <= 1.3x.
2. `scaffolder new` against raw cookiecutter rendering the same app template layers with the same
   context. Target: <= 1.5x.

Runs alternate between the two commands. `new` runs with a warm Jinja bytecode cache after the first
run (the tool caches compiled templates under ~/.cache/foundry-scaffolder), as a user's second run would.

Run: python bench/cli.py [--runs 15]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _run(cmd: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr[-2000:]}")
    return elapsed


def _paired_medians(
    ours: list[str], theirs: list[str], runs: int, cwd: Path, before: object = None
) -> tuple[float, float]:
    """Alternate the two commands run by run, so load drifting over time hits both alike."""
    a, b = [], []
    for _ in range(runs):
        for cmd, out in ((ours, a), (theirs, b)):
            if callable(before):
                before()
            out.append(_run(cmd, cwd))
    return statistics.median(a), statistics.median(b)


def _bare_typer_app(path: Path) -> None:
    from scaffolder.cli import app

    names = [c.name or c.callback.__name__ for c in app.registered_commands if c.callback]
    body = "\n".join(f"@app.command(name={n!r})\ndef c{i}() -> None:\n    pass\n" for i, n in enumerate(names))
    path.write_text(f"import typer\napp = typer.Typer()\n{body}\napp()\n")


def _raw_cookiecutter_script(path: Path, ctx: dict[str, object], layers: list[Path]) -> None:
    path.write_text(
        "import json, sys\n"
        "from cookiecutter.generate import generate_files\n"
        f"ctx = json.loads({json.dumps(ctx)!r})\n"
        "ctx = {'cookiecutter': ctx}\n"
        f"for layer in {[str(p) for p in layers]!r}:\n"
        "    generate_files(repo_dir=layer, context=ctx, output_dir=sys.argv[1], overwrite_if_exists=True)\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()

    from scaffolder._new import resolve_spec
    from scaffolder._resources import templates_dir
    from scaffolder.generate import template_context

    work = Path(tempfile.mkdtemp(prefix="bench-cli-"))
    try:
        bare = work / "bare.py"
        _bare_typer_app(bare)
        scaffolder = [sys.executable, "-m", "scaffolder"]
        help_ours, help_floor = _paired_medians(
            [*scaffolder, "--help"], [sys.executable, str(bare), "--help"], args.runs, work
        )
        print(f"--help   scaffolder {help_ours * 1000:7.1f} ms | bare typer {help_floor * 1000:7.1f} ms | "
              f"ratio {help_ours / help_floor:.2f}x (target <= 1.3x)")

        for runtime in ("responses", "agents", "inference"):
            spec = resolve_spec(name="demo", runtime=runtime, location="eastus2")
            layers = [p for p in (templates_dir() / "base", templates_dir() / runtime) if p.is_dir()]
            raw = work / f"raw_{runtime}.py"
            _raw_cookiecutter_script(raw, template_context(spec), layers)
            out = work / "out"

            def clean(out: Path = out) -> None:
                shutil.rmtree(out, ignore_errors=True)
                out.mkdir()

            ours, theirs = _paired_medians(
                [*scaffolder, "new", "demo", "-r", runtime, "--no-input", "-o", str(out)],
                [sys.executable, str(raw), str(out)],
                args.runs,
                work,
                clean,
            )
            print(f"new {runtime:<9} scaffolder {ours * 1000:7.1f} ms | raw cookiecutter {theirs * 1000:7.1f} ms | "
                  f"ratio {ours / theirs:.2f}x (target <= 1.5x)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
