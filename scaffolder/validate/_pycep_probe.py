"""Parse Bicep files with pycep-parser and print one JSON result per file (run by the checkov venv's python).

This file runs as a script in checkov's own virtual environment, so it imports nothing from scaffolder:
`python _pycep_probe.py FILE...` prints {"version": "...", "results": [{"file", "ok", "line", "col", "error"}]}.
"""

from __future__ import annotations

import importlib
import json
import sys
from importlib import metadata
from pathlib import Path
from typing import Any


def probe(paths: list[str]) -> dict[str, Any]:
    """Parse each path; report the first syntax error with its position."""
    parser = importlib.import_module("pycep").BicepParser()
    results = []
    for raw in paths:
        result: dict[str, Any] = {"file": raw, "ok": True, "line": 0, "col": 0, "error": ""}
        try:
            parser.parse(file_path=Path(raw))
        except Exception as exc:  # lark raises UnexpectedToken/UnexpectedCharacters; anything else is a miss too
            result.update(
                ok=False,
                line=int(getattr(exc, "line", 0) or 0),
                col=int(getattr(exc, "column", 0) or 0),
                error=f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}",
            )
        results.append(result)
    return {"version": metadata.version("pycep-parser"), "results": results}


if __name__ == "__main__":
    json.dump(probe(sys.argv[1:]), sys.stdout)
