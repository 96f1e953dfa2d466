"""Which files of a template tree are templates (caches and OS litter are not)."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from scaffolder.errors import TemplateError

# Interpreter caches (pip compiles the installed templates' .py files) and OS litter are never templates.
_JUNK_DIRS = frozenset({"__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache"})
_JUNK_SUFFIXES = (".pyc", ".pyo")
_JUNK_NAMES = frozenset({".DS_Store", "Thumbs.db"})


def template_files(root: Path) -> list[Path]:
    """The files of a template tree, sorted, without caches and OS litter."""
    return sorted(
        p
        for p in root.rglob("*")
        if p.is_file()
        and not _JUNK_DIRS.intersection(p.relative_to(root).parts)
        and not p.name.endswith(_JUNK_SUFFIXES)
        and p.name not in _JUNK_NAMES
    )


def safe_relative(rendered: str, where: str) -> str:
    """A rendered path must stay inside the repo: no absolute paths, no '.' or '..' segments."""
    path = PurePosixPath(rendered)
    if path.is_absolute() or any(part in {".", ".."} for part in rendered.split("/")):
        raise TemplateError(f"{where} renders to {rendered!r}, which leaves the generated repo")
    return rendered
