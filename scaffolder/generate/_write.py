"""Atomic writing of a FilePlan: render beside the target, then move; never clobber a user's file silently."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from scaffolder.errors import ScaffolderError, TargetExistsError
from scaffolder.generate._plan import FilePlan

Verb = Literal["create", "identical", "overwrite"]


@dataclass(frozen=True)
class FileAction:
    """What writing the plan does (or would do) to one path."""

    path: str
    verb: Verb


def linked_component(root: Path, rel: str | os.PathLike[str]) -> Path | None:
    """The first component of root/rel (below root) that is a symlink, or a non-directory parent; else None.

    Writing, reading or deleting through a linked parent folder would reach outside the repo, so every path
    component is checked, not only the last one.
    """
    parts = Path(rel).parts
    here = root
    for i, part in enumerate(parts):
        here = here / part
        if here.is_symlink():
            return here
        if i < len(parts) - 1 and here.exists() and not here.is_dir():
            return here
    return None


def _is_empty_dir(path: Path) -> bool:
    return path.is_dir() and not any(path.iterdir())


def plan_actions(plan: FilePlan, target: Path, *, force: bool) -> list[FileAction]:
    """Decide the verb for every planned file; refuse a non-empty target unless force (pure reads only)."""
    if target.exists() and not target.is_dir():
        raise TargetExistsError(f"{target} exists and is not a directory", hint="choose another NAME or --output")
    populated = target.is_dir() and not _is_empty_dir(target)
    if populated and not force:
        clashes = [p for p in plan.paths() if (target / p).exists()]
        detail = f"; {len(clashes)} generated file(s) already exist there, e.g. {clashes[0]}" if clashes else ""
        raise TargetExistsError(
            f"target directory {target} is not empty{detail}",
            hint="pick a new NAME, or pass --force to write into it (existing files that differ are overwritten "
            "and listed; other files are left alone)",
        )
    actions = []
    for f in plan.files:
        dest = target / f.path
        linked = linked_component(target, f.path) if target.is_dir() else None
        if linked is not None:
            raise TargetExistsError(
                f"{linked} is a symbolic link (or not a folder) on the way to {f.path}; writing through it could "
                "reach outside the repo",
                hint="replace the link with a real folder or file, then run again; nothing was written",
            )
        blocker = next((p for p in dest.parents if p != target and p.is_relative_to(target) and p.is_file()), None)
        if blocker is not None:
            raise TargetExistsError(
                f"{blocker} is a file where the generator needs a directory (for {f.path})",
                hint="move or rename it, then run again; nothing was written",
            )
        if not dest.exists():
            actions.append(FileAction(str(f.path), "create"))
        elif dest.is_file() and dest.read_bytes() == f.content:
            actions.append(FileAction(str(f.path), "identical"))
        elif dest.is_dir():
            raise TargetExistsError(f"{dest} is a directory where the generator writes a file")
        else:
            actions.append(FileAction(str(f.path), "overwrite"))
    return actions


def write_plan(
    plan: FilePlan, target: Path, *, force: bool, before_move: Callable[[Path], None] | None = None
) -> list[FileAction]:
    """Write the plan to target atomically and return what was done to each file.

    `before_move` runs on the fully staged repo (e.g. trusted hooks); if it raises, nothing is written.
    """
    actions = plan_actions(plan, target, force=force)
    target = target.resolve()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.scaffolder-", dir=target.parent))
    except OSError as exc:
        raise ScaffolderError(
            f"cannot create {target}: {exc.strerror or exc}", hint="choose another --output directory"
        ) from None
    try:
        # mkdtemp makes the directory private (0700); the repo gets the user's usual permissions.
        umask = os.umask(0)
        os.umask(umask)
        staging.chmod(0o777 & ~umask)
        for f in plan.files:
            dest = staging / f.path
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(f.content)
            dest.chmod(f.mode)
        if before_move is not None:
            before_move(staging)
        if not target.exists() or _is_empty_dir(target):
            if target.exists():
                target.rmdir()
            staging.rename(target)
        else:
            # Everything rendered fine; only now touch the user's directory, one atomic replace per file
            # (files a trusted hook added in staging included).
            for staged in sorted(p for p in staging.rglob("*") if p.is_file()):
                rel = staged.relative_to(staging)
                dest = target / rel
                if linked_component(target, rel) is not None:
                    # Checked in plan_actions too; a link that appeared since must still not be followed.
                    raise ScaffolderError(f"{target / rel} is behind a symbolic link; not written through it")
                if (dest.is_file() and dest.read_bytes() == staged.read_bytes()
                        and (dest.stat().st_mode & 0o111 != 0) == (staged.stat().st_mode & 0o111 != 0)):
                    continue  # identical, executable bit included
                dest.parent.mkdir(parents=True, exist_ok=True)
                staged.replace(dest)
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        raise ScaffolderError(f"could not write {target}{where}: {exc.strerror or exc}") from exc
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return actions
