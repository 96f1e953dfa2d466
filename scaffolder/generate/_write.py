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
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from scaffolder import safeio
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
        if rest == entry.name or rest.startswith(("backup-", "merge-")) or entry.is_symlink() or not entry.is_dir():
            continue
        with contextlib.suppress(OSError):
            if entry.stat().st_uid != os.getuid():  # another user's run in a shared folder: not ours to judge
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


def _journal(backup: Path, target: Path) -> dict[str, Any] | None:
    """backup/journal.json if it is one this tool wrote for target; None for anything else.

    The folder sits beside the target, where others may write (a shared parent, a checkout): a planted
    journal must not make the rollback move, delete or rmtree anything outside target and its own folders.
    """
    try:
        if backup.stat().st_uid != os.getuid():
            return None
        doc = json.loads(safeio.read_text(backup / JOURNAL))
    except (OSError, ValueError, safeio.UnsafeInputError):
        return None
    prefix = f".{target.name}.{STAGING_TAG}-"
    if not isinstance(doc, dict) or doc.get("target") != str(target) or not isinstance(doc.get("entries"), list):
        return None
    staging = doc.get("staging")
    if staging is not None and not (
        isinstance(staging, str) and Path(staging).parent == target.parent and Path(staging).name.startswith(prefix)
    ):
        return None
    for entry in doc["entries"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
            return None
        rel = PurePosixPath(entry["path"])
        if rel.is_absolute() or not rel.parts or ".." in rel.parts or "\0" in entry["path"]:
            return None
        if safeio.has_link(target, entry["path"]):
            return None
    return doc


def _roll_back(backup: Path, target: Path, *, mine: bool = False) -> bool:
    """Undo an unfinished replacement recorded in backup/journal.json; idempotent. True when one was undone.

    Unless `mine` (the run that wrote the journal is undoing its own work), a journal whose run is still
    alive belongs to a concurrent run and is left alone; so is a journal this tool did not write for target.
    """
    if not (backup / JOURNAL).exists() and not (backup / JOURNAL).is_symlink():
        # Killed before the journal existed: nothing was replaced. (A live run writes it right after mkdtemp,
        # so only a folder some seconds old is taken for abandoned.)
        with contextlib.suppress(OSError):
            info = backup.stat()
            # The run's own folder (Ctrl-C while writing the first journal) is removed at once.
            if info.st_uid == os.getuid() and (mine or time.time() - info.st_mtime > 60):
                shutil.rmtree(backup, ignore_errors=True)
        return False
    doc = _journal(backup, target)
    if doc is None:
        return False
    if doc.get("state") == "discard":
        keep_in = doc.get("keep_in")
        # keep_in comes from a file beside the target: old files may only move to a folder inside it.
        if keep_in is not None and not (isinstance(keep_in, str) and Path(keep_in).is_relative_to(target)
                                        and ".." not in Path(keep_in).parts):
            return False
        _discard(backup, doc)  # the replacement finished; finish moving its old files (or dropping them)
        return False
    if doc.get("state") != "replacing":
        return False
    owner = doc.get("pid")
    if not mine and isinstance(owner, int) and owner != os.getpid() and _alive(owner):
        return False
    for entry in reversed(doc["entries"]):
        dest = target / entry["path"]
        old = backup / OLD_FILES / entry["path"]
        if entry.get("existed"):
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
            if backup.is_dir() and not backup.is_symlink() and _roll_back(backup, target):
                rolled.append(backup)
    clean_stale_staging(target)
    return rolled


def _missing_parents(folder: Path) -> list[Path]:
    missing = []
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    return missing


def _discard(backup: Path, doc: dict[str, object]) -> None:
    """Move a finished replacement's old files into doc["keep_in"] (inside the target), or drop them; idempotent."""
    keep_in = doc.get("keep_in")
    old_root = backup / OLD_FILES
    if isinstance(keep_in, str) and old_root.is_dir():
        for old in sorted(p for p in old_root.rglob("*") if p.is_file() or p.is_symlink()):
            dest = Path(keep_in) / old.relative_to(old_root)
            dest.parent.mkdir(parents=True, exist_ok=True)
            old.replace(dest)
    shutil.rmtree(backup, ignore_errors=True)


def write_plan(
    plan: FilePlan,
    target: Path,
    *,
    force: bool,
    before_move: Callable[[Path], None] | None = None,
    on_backup: Callable[[Path], None] | None = None,
    backups: Path | Literal["beside", "none"] = "beside",
) -> list[FileAction]:
    """Write the plan to target atomically and return what was done to each file.

    `before_move` runs on the fully staged repo (e.g. trusted hooks); if it raises, nothing is written.
    A new (or empty) target appears in one rename. Into an existing one (--force), a journal beside it
    records the replacement and every overwritten file is moved into a backup folder first: an
    interrupted run is rolled back at once (Ctrl-C) or by the next run (a killed process), so the tree
    is never left half old, half new; after success the backup keeps the overwritten files
    (`on_backup` is told where). Parent folders created for target are removed again when the run fails.

    `backups` says where the overwritten files stay after success: "beside" (the backup folder next to target,
    for `new --force`), a folder inside target (moved there, then nothing is left beside target), or "none"
    (dropped, when the caller knows another copy exists, e.g. a clean git work tree). The journal and staging
    area beside target exist only during the run (or until the next run finishes a killed one).
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
            if backup is not None and backups != "beside":
                doc = json.loads((backup / JOURNAL).read_text(encoding="utf-8"))
                keep_in = None if backups == "none" else str(Path(backups).absolute())
                # Recorded first: a run killed while moving is finished by the next run's recover().
                _write_journal(backup, {**doc, "state": "discard", "keep_in": keep_in})
                _discard(backup, {"keep_in": keep_in})
                backup = None if keep_in is None else Path(keep_in)
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
    try:
        _write_journal(backup, journal)  # inside the try: a Ctrl-C here must not leave the folder behind
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
        _roll_back(backup, target, mine=True)
        raise
    if not any(e["existed"] for e in entries):
        shutil.rmtree(backup, ignore_errors=True)
        return None
    return backup
