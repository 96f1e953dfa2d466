"""Atomic writing of a FilePlan: render beside the target, then move; never clobber a user's file silently."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import time
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
        linked = next((p for p in [dest, *dest.parents] if p != target and p.is_relative_to(target)
                       and p.is_symlink()), None)
        if linked is not None:
            raise TargetExistsError(
                f"{linked} is a symbolic link; the generator does not write through links (for {f.path})",
                hint="replace the link with a real folder or file, or choose another --output; nothing was written",
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


STAGING_TAG = "scaffolder"
BACKUP_TAG = "scaffolder-backup"
JOURNAL = "journal.json"
OLD_FILES = "files"


def _staging_prefix(target: Path) -> str:
    # The pid in the name tells a later run whether the folder's owner is still alive (else it is stale).
    return f".{target.name}.{STAGING_TAG}-{os.getpid()}-"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


def clean_stale_staging(target: Path) -> list[Path]:
    """Remove staging folders of killed runs beside target (`.NAME.scaffolder-PID-*` whose PID is gone)."""
    removed: list[Path] = []
    if not target.parent.is_dir():
        return removed
    prefix = f".{target.name}.{STAGING_TAG}-"
    for entry in target.parent.iterdir():
        rest = entry.name.removeprefix(prefix)
        if rest == entry.name or rest.startswith("backup-") or entry.is_symlink() or not entry.is_dir():
            continue
        pid = rest.split("-", 1)[0]
        if pid.isdigit() and _alive(int(pid)):
            continue
        shutil.rmtree(entry, ignore_errors=True)
        removed.append(entry)
    return removed


def _write_journal(backup: Path, doc: dict[str, object]) -> None:
    # Written whole then renamed: a run killed mid-write leaves no journal, and then nothing was replaced yet.
    tmp = backup / (JOURNAL + ".tmp")
    tmp.write_text(json.dumps(doc, indent=1), encoding="utf-8")
    tmp.replace(backup / JOURNAL)


def _roll_back(backup: Path, *, mine: bool = False) -> bool:
    """Undo an unfinished replacement recorded in backup/journal.json; idempotent. True when one was undone.

    Unless `mine` (the run that wrote the journal is undoing its own work), a journal whose run is still
    alive belongs to a concurrent run and is left alone.
    """
    try:
        doc = json.loads((backup / JOURNAL).read_text(encoding="utf-8"))
    except FileNotFoundError:
        # Killed before the journal existed: nothing was replaced. (A live run writes it right after mkdtemp,
        # so only a folder some seconds old is taken for abandoned.)
        with contextlib.suppress(OSError):
            if time.time() - backup.stat().st_mtime > 60:
                shutil.rmtree(backup, ignore_errors=True)
        return False
    except (OSError, ValueError):
        return False
    if doc.get("state") != "replacing":
        return False
    owner = doc.get("pid")
    if not mine and isinstance(owner, int) and owner != os.getpid() and _alive(owner):
        return False
    target = Path(doc["target"])
    for entry in reversed(doc["entries"]):
        dest = target / entry["path"]
        old = backup / OLD_FILES / entry["path"]
        if entry["existed"]:
            if old.exists():  # otherwise the old file was never moved aside: it is still in place
                dest.parent.mkdir(parents=True, exist_ok=True)
                old.replace(dest)
        elif dest.is_file() and not dest.is_symlink():
            dest.unlink()
            _prune_empty(dest.parent, target)
    staging = doc.get("staging")
    if staging:
        shutil.rmtree(staging, ignore_errors=True)
    shutil.rmtree(backup, ignore_errors=True)
    return True


def _prune_empty(folder: Path, stop: Path) -> None:
    while folder != stop and folder.is_relative_to(stop):
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent


def recover(target: Path) -> list[Path]:
    """Finish what an interrupted run left beside target: roll back half-done replacements, drop stale staging.

    Returns the backup folders that were rolled back.
    """
    rolled = []
    if target.parent.is_dir():
        prefix = f".{target.name}.{BACKUP_TAG}-"
        for backup in sorted(target.parent.glob(f"{prefix}*")):
            if backup.is_dir() and not backup.is_symlink() and _roll_back(backup):
                rolled.append(backup)
    clean_stale_staging(target)
    return rolled


def _missing_parents(folder: Path) -> list[Path]:
    missing = []
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    return missing


def write_plan(
    plan: FilePlan,
    target: Path,
    *,
    force: bool,
    before_move: Callable[[Path], None] | None = None,
    on_backup: Callable[[Path], None] | None = None,
) -> list[FileAction]:
    """Write the plan to target atomically and return what was done to each file.

    `before_move` runs on the fully staged repo (e.g. trusted hooks); if it raises, nothing is written.
    A new (or empty) target appears in one rename. Into an existing one (--force), a journal beside it
    records the replacement and every overwritten file is moved into a backup folder first: an
    interrupted run is rolled back at once (Ctrl-C) or by the next run (a killed process), so the tree
    is never left half old, half new; after success the backup keeps the overwritten files
    (`on_backup` is told where). Parent folders created for target are removed again when the run fails.
    """
    target = target.absolute()
    if target.parent.exists():
        target = target.parent.resolve() / target.name
        recover(target)
    actions = plan_actions(plan, target, force=force)
    created = _missing_parents(target.parent)
    staging: Path | None = None
    try:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=_staging_prefix(target), dir=target.parent))
        except OSError as exc:
            raise ScaffolderError(
                f"cannot create {target}: {exc.strerror or exc}", hint="choose another --output directory"
            ) from None
        _stage(plan, staging)
        if before_move is not None:
            before_move(staging)
        if not target.exists() or _is_empty_dir(target):
            if target.exists():
                target.rmdir()
            staging.rename(target)
        else:
            backup = _replace(staging, target)
            if backup is not None and on_backup is not None:
                on_backup(backup)
    except OSError as exc:
        _undo_parents(created, staging)
        where = f" ({exc.filename})" if exc.filename else ""
        raise ScaffolderError(f"could not write {target}{where}: {exc.strerror or exc}") from exc
    except BaseException:
        _undo_parents(created, staging)
        raise
    finally:
        if staging is not None and staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return actions


def _undo_parents(created: list[Path], staging: Path | None) -> None:
    if staging is not None:
        shutil.rmtree(staging, ignore_errors=True)
    for folder in created:  # deepest first
        try:
            folder.rmdir()
        except OSError:
            return


def _stage(plan: FilePlan, staging: Path) -> None:
    # mkdtemp makes the directory private (0700); the repo gets the user's usual permissions.
    umask = os.umask(0)
    os.umask(umask)
    staging.chmod(0o777 & ~umask)
    for f in plan.files:
        dest = staging / f.path
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(f.content)
        dest.chmod(f.mode)


def _replace(staging: Path, target: Path) -> Path | None:
    """Move the staged files over target's, journaled; returns the backup folder when files were overwritten."""
    entries: list[dict[str, object]] = []
    for staged in sorted(p for p in staging.rglob("*") if p.is_file() and not p.is_symlink()):
        rel = staged.relative_to(staging).as_posix()
        dest = target / rel
        if linked_component(target, rel) is not None:
            # Checked in plan_actions too; a link that appeared since must still not be followed (nothing
            # has been moved yet).
            raise TargetExistsError(f"{dest} is behind a symbolic link; not written through it")
        if (dest.is_file() and dest.read_bytes() == staged.read_bytes()
                and (dest.stat().st_mode & 0o111 != 0) == (staged.stat().st_mode & 0o111 != 0)):
            continue  # identical, executable bit included
        entries.append({"path": rel, "existed": dest.exists() or dest.is_symlink()})
    if not entries:
        return None
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    backup = Path(tempfile.mkdtemp(prefix=f".{target.name}.{BACKUP_TAG}-{stamp}-", dir=target.parent))
    journal: dict[str, object] = {
        "target": str(target), "staging": str(staging), "state": "replacing", "entries": entries,
        "pid": os.getpid(),
    }
    _write_journal(backup, journal)
    try:
        for entry in entries:
            rel = str(entry["path"])
            dest = target / rel
            if entry["existed"]:
                old = backup / OLD_FILES / rel
                old.parent.mkdir(parents=True, exist_ok=True)
                dest.replace(old)  # the old file moves aside whole; the rollback moves it back
            dest.parent.mkdir(parents=True, exist_ok=True)
            (staging / rel).replace(dest)
        _write_journal(backup, {**journal, "state": "done"})
    except BaseException:
        # Ctrl-C or a failed write: put the old tree back now, not on the next run.
        _roll_back(backup, mine=True)
        raise
    if not any(e["existed"] for e in entries):
        shutil.rmtree(backup, ignore_errors=True)
        return None
    return backup
