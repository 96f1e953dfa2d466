"""Locate the data shipped with the tool: app templates and Bicep modules (repo checkout or wheel)."""

from __future__ import annotations

from pathlib import Path

_PKG = Path(__file__).resolve().parent


def _data_dir(name: str) -> Path:
    # A wheel carries the folders under scaffolder/_data; a checkout (editable install) at the repo root.
    for candidate in (_PKG / "_data" / name, _PKG.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"foundry-scaffolder data folder {name!r} is missing from the installation")


def templates_dir() -> Path:
    """Root of the app templates (one cookiecutter tree per layer: base, then the runtime's overlay)."""
    return _data_dir("templates")


def bicep_dir() -> Path:
    """Root of the Bicep modules copied verbatim into generated repos."""
    return _data_dir("bicep")
