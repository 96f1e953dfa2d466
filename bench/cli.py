"""CLI speed, as ratios measured in one run (median of N fresh processes each).

1. `scaffolder --help` against a bare typer app with the same command names (the floor for a typer CLI).
   Target: <= 1.3x.
2. `scaffolder new` against raw cookiecutter rendering the same app template layers with the same
   context. Target: <= 1.5x.

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


def _median_seconds(cmd: list[str], runs: int, cwd: Path, before: object = None) -> float:
    times = []
    for _ in range(runs):
        if callable(before):
            before()
        start = time.perf_counter()
        done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
        if done.returncode:
            raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr[-2000:]}")
        times.append(time.perf_counter() - start)
    return statistics.median(times)


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
        help_ours = _median_seconds([*scaffolder, "--help"], args.runs, work)
        help_floor = _median_seconds([sys.executable, str(bare), "--help"], args.runs, work)
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

            ours = _median_seconds([*scaffolder, "new", "demo", "-r", runtime, "--no-input", "-o", str(out)],
                                   args.runs, work, clean)
            theirs = _median_seconds([sys.executable, str(raw), str(out)], args.runs, work, clean)
            print(f"new {runtime:<9} scaffolder {ours * 1000:7.1f} ms | raw cookiecutter {theirs * 1000:7.1f} ms | "
                  f"ratio {ours / theirs:.2f}x (target <= 1.5x)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
