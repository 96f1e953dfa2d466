"""`update`: re-apply the generator to a living repo with a three-way merge; the user's edits are kept.

base   = what the recorded spec produced with the recorded tool version (the repo's pristine archive,
         written by every generation; for repos older than the archive, the generation commit in git)
theirs = what the updated spec produces with this version
ours   = the repo as it is

Unchanged files are replaced, files only the user changed are kept, files both changed are merged with
`git merge-file --diff3` (or the `merge3` library when git is absent); real conflicts are written with diff3
markers and listed. Everything is computed before anything is written, then written through `new`'s writer.
"""

from __future__ import annotations

import dataclasses
import difflib
import inspect
import shutil
import subprocess
import tarfile
import tempfile
import time
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal

import yaml
from pydantic import BaseModel

from scaffolder import __version__, catalog, infra, safeio
from scaffolder.catalog import Runtime
from scaffolder.errors import (
    BaseUnavailableError,
    CatalogError,
    DirtyTreeError,
    ScaffolderError,
    SpecError,
    StandardsError,
    UnresolvedConflictsError,
    UpdateInterrupted,
)
from scaffolder.generate import FilePlan, PlannedFile, plan_files, with_pristine, write_plan
from scaffolder.generate._files import template_files
from scaffolder.generate._plan import BACKUPS_DIR, PRISTINE_FILE, PRISTINE_MAX_TAR_BYTES, ROOT_DIR, unpack_pristine
from scaffolder.generate._write import linked_component
from scaffolder.spec import ANSWERS_FILE, ModelDeployment, PastDecision, ProjectSpec, RuntimeDecision, build_spec
from scaffolder.spec import today as spec_today
from scaffolder.standards import LoadedStandards, enforce
from scaffolder.tools import OfferError, changed_tools, tool_option

MergeEngine = Literal["auto", "git", "library"]
Action = Literal[
    "create",  # new generated file, absent from the repo
    "update",  # the user never edited it: replaced by the new generation
    "merge",  # both changed it: merged cleanly
    "conflict",  # both changed the same lines: written with diff3 markers
    "delete",  # no longer generated and never edited: removed
    "kept-edited",  # no longer generated but edited: kept, reported
    "kept-deleted",  # the user deleted it: stays deleted
]
# Files the generator alone writes: always the new generation, never merged, not "an update" by themselves.
_BOOKKEEPING = (ANSWERS_FILE, PRISTINE_FILE)
CONFLICT_HINT = (
    "resolve the <<<<<<< ||||||| ======= >>>>>>> blocks in the files listed, then commit; "
    "to abort, restore the files from git (git checkout -- . && git clean -fd)"
)


@dataclass(frozen=True)
class FileChange:
    """What the update does (or would do) to one path."""

    path: str
    action: Action


@dataclass(frozen=True)
class UpdateResult:
    """The outcome of `update`: per-file changes, the spec before and after, notes for the user."""

    directory: Path
    spec_before: ProjectSpec
    spec: ProjectSpec
    version_before: str
    base_source: str
    changes: tuple[FileChange, ...]
    notes: tuple[str, ...] = ()
    diff: str = ""
    dry_run: bool = False
    merge_engine: str = ""
    bookkeeping: tuple[str, ...] = field(default_factory=tuple)
    # Replaced or deleted from a git-history base this version cannot confirm as generated: to be reviewed.
    review: tuple[str, ...] = field(default_factory=tuple)

    @property
    def conflicts(self) -> tuple[str, ...]:
        """Paths written (or that would be written) with conflict markers."""
        return tuple(c.path for c in self.changes if c.action == "conflict")

    @property
    def update_available(self) -> bool:
        """Whether the update changes any file besides the generator's own bookkeeping."""
        return any(c.action not in ("kept-edited", "kept-deleted") for c in self.changes)

    def as_dict(self, *, include_diff: bool | None = None) -> dict[str, Any]:
        """JSON-ready summary: counts per action and paths; `diff` only when asked (by default with dry_run)."""
        include_diff = self.dry_run if include_diff is None else include_diff
        counts: dict[str, int] = {}
        for c in self.changes:
            counts[c.action] = counts.get(c.action, 0) + 1
        return {
            "directory": str(self.directory),
            "dry_run": self.dry_run,
            "update_available": self.update_available,
            "version_before": self.version_before,
            "version": __version__,
            "base": self.base_source,
            "merge_engine": self.merge_engine,
            "runtime_before": self.spec_before.runtime.value,
            "runtime": self.spec.runtime.value,
            "counts": counts,
            "changes": [{"path": c.path, "action": c.action} for c in self.changes],
            "conflicts": list(self.conflicts),
            "review": list(self.review),
            "notes": list(self.notes),
            **({"diff": self.diff} if include_diff and self.dry_run else {}),
        }


# ---------------------------------------------------------------------------------------------------------------
# The spec: the recorded one, with the options the user gave applied through `new`'s own spec-building path.

# resolve_spec parameters that are not a ProjectSpec field of the same name, and how to read them from a spec.
_FROM_SPEC: dict[str, Callable[[ProjectSpec], Any]] = {
    "runtime": lambda s: s.runtime.value,
    "models": lambda s: [model_option(m) for m in s.models],
    "network": lambda s: s.network.posture,
    "allow_ips": lambda s: list(s.network.allow_ips),
    # resolve_spec takes `--tool` texts; the spec records ToolSpec objects (review-15 HIGH-19)
    "tools": lambda s: [tool_option(t.name, t.options) for t in s.tools],
}
# resolve_spec parameters that do not come from the recorded spec.
_NOT_FROM_SPEC = frozenset({"capacity", "decision_answers", "standards", "prompter"})
# Spec fields that follow the standards file when one is in force (resolve_spec derives them from it).
_FROM_STANDARDS = frozenset({"tags", "naming", "log_retention_days", "standards"})


def model_option(dep: ModelDeployment) -> str:
    """A deployment as the `--model` option text that parses back to it (version_upgrade aside)."""
    text = f"{dep.model}@{dep.version},sku={dep.sku},capacity={dep.capacity},deployment={dep.name}"
    return text if dep.model in catalog.models() else f"{text},format={dep.format}"


def recorded_options(spec: ProjectSpec) -> dict[str, Any]:
    """The `resolve_spec` keyword arguments that rebuild `spec`.

    A resolve_spec parameter named like a ProjectSpec field is read from that field, so an option added to
    `new` that way (`--hosting` -> hosting) is kept by `update` and changeable with the same flag, unwired.
    """
    from scaffolder._new import resolve_spec

    fields = type(spec).model_fields
    out: dict[str, Any] = {}
    for name in inspect.signature(resolve_spec).parameters:
        if name in _NOT_FROM_SPEC:
            continue
        if name in _FROM_SPEC:
            out[name] = _FROM_SPEC[name](spec)
        elif name in fields:
            value = getattr(spec, name)
            out[name] = value.model_dump(mode="json") if isinstance(value, BaseModel) else value
    return out


def _spec_fields_of_options() -> set[str]:
    """ProjectSpec fields that resolve_spec's parameters decide."""
    from scaffolder._new import resolve_spec

    fields = set(ProjectSpec.model_fields)
    out = {"runtime", "models", "network"}
    out |= {p for p in inspect.signature(resolve_spec).parameters if p in fields}
    return out


def _incompatible_models(spec: ProjectSpec, runtime: Runtime) -> None:
    """Refuse, before anything is written, a runtime that cannot serve the recorded models."""
    profile = catalog.runtimes()[runtime]
    bad = [m for m in spec.models if m.format not in profile.model_formats]
    if not bad:
        return
    day = spec_today()
    compatible = [
        m.name for m in catalog.models_for(runtime)
        if m.kind == "chat" and m.status(m.default_version, day).state not in ("retired", "deprecated")
    ]
    from scaffolder.spec import DEFAULT_MODEL

    suggested = DEFAULT_MODEL if DEFAULT_MODEL in compatible else (compatible[0] if compatible else "NAME")
    names = ", ".join(f"{m.model} ({m.format})" for m in bad)
    raise CatalogError(
        f"{names} cannot run on the {profile.title}; compatible replacements: {', '.join(compatible)}",
        hint=f"add --model {suggested} (repeatable) to `scaffolder update "
        f"--runtime {runtime.value}`; nothing was written",
    )


def _replace_retired(models: tuple[ModelDeployment, ...], runtime: Runtime) -> tuple[list[dict[str, Any]], list[str]]:
    """Deployments whose model version is retired, swapped for the catalog's replacement (a new deployment)."""
    from scaffolder.spec import parse_model_option

    day = spec_today()
    out: list[dict[str, Any]] = []
    notes: list[str] = []
    taken = {m.name for m in models}
    profile = catalog.runtimes()[runtime]
    for dep in models:
        known = catalog.models().get(dep.model)
        life = known.lifecycle.get(dep.version) if known else None
        status = known.status(dep.version, day) if known else None
        # The status names the current replacement (the published one may itself be retired by now).
        wanted = (status.replacement if status else None) or (life.replacement if life else None)
        replacement = catalog.models().get(wanted) if wanted else None
        if status is None or status.state != "retired" or replacement is None:
            out.append(dep.model_dump(mode="json"))
            continue
        if replacement.format not in profile.model_formats or replacement.name in taken:
            notes.append(f"{status.message}; not replaced automatically: pass --model")
            out.append(dep.model_dump(mode="json"))
            continue
        new = parse_model_option(replacement.name)
        new["capacity"] = dep.capacity
        new["version_upgrade"] = dep.version_upgrade
        taken.add(new["name"])
        out.append(new)
        # ARM refuses to change a deployment's model in place (CannotChangeDeploymentModel): a new name it is.
        notes.append(f"{status.message}: deployment {dep.name} becomes {new['name']} "
                     f"({replacement.name} {new['version']}); the old deployment is removed on the next provision")
    return out, notes


def _tools_the_runtime_lacks(old: ProjectSpec, runtime: Runtime, tools: Sequence[str] | None) -> None:
    """A runtime switch keeping a tool the new runtime cannot offer: one error whose fix is `--remove-tool`."""
    from scaffolder.tools import check_tool, parse_tool_option

    kept = ([(t["name"], t["options"]) for t in map(parse_tool_option, tools)] if tools is not None
            else [(t.name, dict(t.options)) for t in old.tools])
    for name, options in kept:
        try:
            check_tool(name, options, runtime)
        except OfferError as exc:
            if catalog.tools()[name].offer(runtime) != "none":  # offered, but not with these options
                raise SpecError(str(exc).split("; use --runtime")[0],
                                hint=f"give `--tool {name},...` options the new runtime takes, or add `--remove-tool "
                                     f"{name}`, or keep --runtime {old.runtime.value}") from None
            raise SpecError(str(exc), hint=f"add `--remove-tool {name}` to switch without it, or keep --runtime "
                                           f"{old.runtime.value}") from None
        except ValueError:
            continue  # an invalid option: resolve_spec reports it as for `new`


def updated_spec(
    old: ProjectSpec,
    overrides: Mapping[str, Any] | None = None,
    *,
    standards: LoadedStandards | None = None,
    decision_answers: Mapping[str, Any] | None = None,
) -> tuple[ProjectSpec, list[str]]:
    """The recorded spec with the given options applied, validated and checked against the standards.

    `overrides` are `resolve_spec` keyword arguments (only what the user gave). What no option names stays as
    recorded (naming, tags, retention, the ADR history); the standards file, when given, decides what it
    governs. A runtime switch without --model refuses models the new runtime cannot serve, naming the
    compatible ones; a retired model version is replaced by the catalog's replacement. Returns notes too.
    """
    from scaffolder import decision as recommend
    from scaffolder._new import resolve_spec

    given = {k: v for k, v in dict(overrides or {}).items() if v is not None}
    decided = recommend.validate_answers(dict(decision_answers or {}))
    if "runtime" not in given and decided:
        given["runtime"] = recommend.recommend(decided).runtime.value
    runtime = Runtime(given.get("runtime", old.runtime.value))
    notes: list[str] = []
    kwargs = recorded_options(old)
    if runtime != old.runtime:
        _tools_the_runtime_lacks(old, runtime, given.get("tools"))
    if "models" not in given:
        if runtime != old.runtime:
            _incompatible_models(old, runtime)
        # resolve_spec validates the recorded models as options; the deployments themselves (with their
        # upgrade policy, and retired versions replaced) are set below.
        kwargs["models"] = [model_option(m) for m in old.models if m.format in
                            catalog.runtimes()[runtime].model_formats]
    kwargs.update(given)
    fresh = resolve_spec(**kwargs, standards=standards, prompter=None)
    values = fresh.model_dump(mode="json")
    decided_by_options = _spec_fields_of_options()
    recorded = old.model_dump(mode="json")
    for name in ProjectSpec.model_fields:
        if name in _FROM_STANDARDS and standards is not None:
            continue
        if name not in decided_by_options or name in _FROM_STANDARDS:
            values[name] = recorded[name]
    if standards is not None:
        values["tags"] = {**old.tags, **fresh.tags}
    if "tags" in given:
        values["tags"] = {**values["tags"], **dict(given["tags"])}
    if "models" not in given:
        values["models"], replaced = _replace_retired(old.models, runtime)
        notes += replaced
    if runtime != old.runtime:
        past = PastDecision(runtime=old.runtime, **old.decision.model_dump())
        values["superseded"] = [*recorded["superseded"], past.model_dump(mode="json")]
        draft = build_spec({**values, "decision": {"answers": decided}})
        changes = switch_changes(old, draft)
        values["decision"] = RuntimeDecision(
            answers=decided, switched_from=old.runtime, changes=tuple(changes)
        ).model_dump(mode="json")
    elif decided:
        notes.append("--decision answers are recorded in the ADR only with a runtime switch; the runtime is "
                     f"unchanged ({runtime.value})")
    spec = build_spec(values)
    enforce(spec, standards)
    return spec, notes


def _switches() -> dict[str, dict[str, str]]:
    data = yaml.safe_load((Path(catalog.__file__).parent / "switches.yaml").read_text(encoding="utf-8"))
    return {"leaving": dict(data["leaving"]), "joining": dict(data["joining"])}


def _layer_paths(runtime: Runtime, package: str) -> set[str]:
    from scaffolder._resources import templates_dir

    root = templates_dir() / runtime.value / ROOT_DIR
    return {
        p.relative_to(root).as_posix().replace("{{cookiecutter.package}}", package)
        for p in template_files(root) if root.is_dir()
    }


def switch_changes(old: ProjectSpec, new: ProjectSpec) -> list[str]:
    """What a runtime switch changes, in sentences for the ADR and the command's output."""
    notes = _switches()
    out = [notes["leaving"][old.runtime.value], notes["joining"][new.runtime.value]]
    before, after = _layer_paths(old.runtime, old.package), _layer_paths(new.runtime, new.package)
    gone, added = sorted(before - after), sorted(after - before)
    if gone:
        out.append(f"App runtime layer removed (unless you edited it): {', '.join(gone)}.")
    if added:
        out.append(f"App runtime layer added: {', '.join(added)}.")
    env_before, env_after = [v.name for v in infra.app_env(old)], [v.name for v in infra.app_env(new)]
    dropped = [n for n in env_before if n not in env_after]
    gained = [n for n in env_after if n not in env_before]
    if dropped or gained:
        out.append("Environment variables: " + "; ".join(
            part for part in (f"no longer read: {', '.join(dropped)}" if dropped else "",
                              f"now read: {', '.join(gained)}" if gained else "") if part
        ) + " (.env.example, the Bicep outputs and the app settings follow).")

    def grant_set(spec: ProjectSpec) -> list[str]:
        return [f"{g.role.name} ({g.role.id}) for the {g.principal} on the {g.scope}" for g in infra.grants(spec)]

    g_before, g_after = grant_set(old), grant_set(new)
    revoked = [g for g in g_before if g not in g_after]
    granted = [g for g in g_after if g not in g_before]
    if revoked:
        out.append(f"Role assignments removed on the next provision: {'; '.join(revoked)}.")
    if granted:
        out.append(f"Role assignments added on the next provision: {'; '.join(granted)}.")
    p_before, p_after = infra.bicep_parameters(old), infra.bicep_parameters(new)
    changed = sorted(k for k in set(p_before) | set(p_after) if p_before.get(k) != p_after.get(k))
    if changed:
        out.append(f"Bicep parameters changed in infra/main.parameters.json: {', '.join(changed)}.")
    if [m.name for m in old.models] != [m.name for m in new.models]:
        out.append(f"Model deployments: {', '.join(m.name for m in old.models)} -> "
                   f"{', '.join(m.name for m in new.models)}.")
    return out


# ---------------------------------------------------------------------------------------------------------------
# The base: what the recorded spec produced with the recorded version.


def _git(directory: Path, *args: str, binary: bool = False) -> subprocess.CompletedProcess[Any] | None:
    exe = shutil.which("git")
    if exe is None:
        return None
    try:
        return subprocess.run([exe, "-C", str(directory), *args], capture_output=True, text=not binary,
                              timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None


def _git_archive(top: Path, commit: str, path: str) -> bytes:
    """`git archive` of one commit's folder, read with a bound (a repo can be far bigger than what we generated)."""
    exe = shutil.which("git")
    if exe is None:
        raise LookupError
    with subprocess.Popen([exe, "-C", str(top), "archive", "--format=tar", commit, path],
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) as proc:
        assert proc.stdout is not None
        data = proc.stdout.read(GIT_BASE_MAX_BYTES + 1)
        if len(data) > GIT_BASE_MAX_BYTES:
            proc.kill()
            raise BaseUnavailableError(
                f"the generation commit {commit[:12]} holds more than {GIT_BASE_MAX_BYTES // 2**20} MiB under "
                f"{path}; too big to read as the merge base",
                hint="commit the repo as generated on its own, or re-generate it with the recorded version",
            )
        if proc.wait(timeout=60) != 0:
            raise LookupError
    return data


GIT_BASE_MAX_BYTES = 256 * 2**20


def _in_git_work_tree(directory: Path) -> bool:
    done = _git(directory, "rev-parse", "--is-inside-work-tree")
    return done is not None and done.returncode == 0 and done.stdout.strip() == "true"


def refuse_dirty(directory: Path) -> None:
    """Refuse uncommitted changes under directory in its git work tree (no git, no work tree: nothing to do)."""
    if not _in_git_work_tree(directory):
        return
    done = _git(directory, "status", "--porcelain", "--", ".")
    if done is None or done.returncode != 0 or not done.stdout.strip():
        return
    rows = [row[3:] for row in done.stdout.splitlines() if row.strip()]
    shown = ", ".join(rows[:3]) + (f" and {len(rows) - 3} more" if len(rows) > 3 else "")
    raise DirtyTreeError(
        f"{directory} has uncommitted changes ({shown}); update merges into your files",
        hint="commit or stash them first so the update can be reviewed and undone, or pass --allow-dirty",
    )


def _git_base(directory: Path, recorded: dict[str, Any], candidates: set[str]) -> tuple[dict[str, PlannedFile], str]:
    """The files of the commit that first recorded this exact answers file (the generation commit)."""
    if not _in_git_work_tree(directory):
        raise LookupError
    top_run = _git(directory, "rev-parse", "--show-toplevel")
    if top_run is None or top_run.returncode != 0:
        raise LookupError
    top = Path(top_run.stdout.strip())
    prefix = directory.resolve().relative_to(top.resolve()).as_posix()
    prefix = "" if prefix == "." else prefix + "/"
    log = _git(directory, "log", "--format=%H", "--reverse", "--", ANSWERS_FILE)
    if log is None or log.returncode != 0:
        raise LookupError
    for commit in log.stdout.split():
        shown = _git(directory, "show", f"{commit}:{prefix}{ANSWERS_FILE}")
        if shown is None or shown.returncode != 0:
            continue
        # Any commit of the history may hold a hostile answers file (an alias bomb): bounded like the live one.
        if len(shown.stdout) > safeio.MAX_CONFIG_BYTES:
            continue
        try:
            doc = safeio.load_yaml(shown.stdout)
        except yaml.YAMLError:
            continue
        if not isinstance(doc, dict) or (doc.get("version"), doc.get("spec")) != (
            recorded.get("version"), recorded.get("spec")
        ):
            continue
        archive = _git_archive(top, commit, prefix or ".")
        import io

        out: dict[str, PlannedFile] = {}
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:") as tar:
            for member in tar.getmembers():
                rel = member.name.removeprefix(prefix)
                if not member.isfile() or rel not in candidates:
                    continue
                handle = tar.extractfile(member)
                if handle is not None:
                    out[rel] = PlannedFile(PurePosixPath(rel), handle.read(), 0o755 if member.mode & 0o111 else 0o644)
        return out, f"git commit {commit[:12]} (the one that recorded this .scaffolder.yml)"
    raise LookupError


def _answers_doc(directory: Path) -> dict[str, Any]:
    """The raw answers file, read bounded again (load_answers checked it, but the file may change since)."""
    from scaffolder.errors import AnswersFileError

    _, text = safeio.read_config(directory / ANSWERS_FILE, AnswersFileError, "the answers file")
    try:
        doc = safeio.load_yaml(text)
    except yaml.YAMLError as exc:
        raise AnswersFileError(f"cannot parse {ANSWERS_FILE}: {str(exc).splitlines()[0]}") from None
    return doc if isinstance(doc, dict) else {}


CONFLICT_MARKER = "<<<<<<< yours ("


def _refuse_unresolved(directory: Path, paths: set[str]) -> None:
    """Refuse to go on while a generated file still holds the conflict markers a previous update wrote.

    After a conflict the archive already records the new generation, so a marked-up file would otherwise read
    as the user's own edit and the repo as up to date.
    """
    marked = []
    for rel in sorted(paths):
        path = directory / rel
        if rel in _BOOKKEEPING or linked_component(directory, rel) is not None or not path.is_file():
            continue
        with path.open("rb") as handle:
            data = handle.read(_MARKER_SCAN_LIMIT)
        if any(line.startswith(CONFLICT_MARKER.encode()) for line in data.splitlines()):
            marked.append(rel)
    if marked:
        shown = ", ".join(marked[:5]) + (f" and {len(marked) - 5} more" if len(marked) > 5 else "")
        raise UnresolvedConflictsError(f"unresolved conflicts from a previous update in {shown}", hint=CONFLICT_HINT)


_MARKER_SCAN_LIMIT = 4 * 1024 * 1024  # generated text files are far smaller; a bigger one is not scanned past this


def _owned(
    base: Mapping[str, PlannedFile], spec_before: ProjectSpec, spec: ProjectSpec, overlays: list[Path],
    theirs: set[str],
) -> tuple[dict[str, PlannedFile], list[str]]:
    """The base limited to paths the generator owns; the rest (a crafted or corrupted archive) is ignored.

    Owned: what this version generates for the new or the recorded spec, and every runtime layer's files; never
    anything under .git/. Only owned paths can ever be deleted as "no longer generated".
    """
    owned = set(theirs) | set(str(p) for p in plan_files(spec_before, overlays).paths())
    for runtime in Runtime:
        owned |= _layer_paths(runtime, spec_before.package) | _layer_paths(runtime, spec.package)
    kept: dict[str, PlannedFile] = {}
    ignored: list[str] = []
    for rel, f in base.items():
        if ".git" in PurePosixPath(rel).parts or rel not in owned:
            ignored.append(rel)
        else:
            kept[rel] = f
    return kept, sorted(ignored)


def merge_base(
    directory: Path, spec: ProjectSpec, version: str, overlays: list[Path], theirs_paths: set[str]
) -> tuple[dict[str, PlannedFile], str]:
    """What `spec` generated with `version`, and where that came from.

    1. the pristine archive every generation writes into the repo (exact for any past version, offline);
    2. this version's own rendering, when the recorded version is this one;
    3. for repos older than the archive: the git commit that first recorded this exact answers file (the
       generation commit), limited to paths the generator produces for the old or the new spec.
    """
    pristine = directory / PRISTINE_FILE
    if pristine.is_file() and linked_component(directory, PRISTINE_FILE) is None:
        try:
            # Read without following links (.scaffolder/ may become one after the check) and bounded: a repo
            # from a pull request may hold anything there.
            data, _ = safeio.read_beneath(directory, PRISTINE_FILE, limit=PRISTINE_MAX_TAR_BYTES)
            return unpack_pristine(data), f"{PRISTINE_FILE} (what {version} generated)"
        except (tarfile.TarError, OSError, EOFError, zlib.error, ScaffolderError, safeio.UnsafeInputError) as exc:
            raise BaseUnavailableError(
                f"{PRISTINE_FILE} is damaged ({exc}); it holds what the generator wrote, the merge base",
                hint="restore it from git (git checkout -- .scaffolder/), then run update again",
            ) from None
    old_plan = plan_files(spec, overlays, tool_version=version)
    if version == __version__:
        return {str(f.path): f for f in old_plan.files}, f"this version's rendering of the recorded spec ({version})"
    recorded = _answers_doc(directory)
    try:
        return _git_base(directory, recorded, set(old_plan.paths()) | theirs_paths)
    except LookupError:
        pass
    raise BaseUnavailableError(
        f"cannot tell what foundry-scaffolder {version} generated here: no {PRISTINE_FILE} (written since "
        f"{__version__}) and no git commit holding this .scaffolder.yml",
        hint="commit the repo as generated (or check out that commit) and run update there, or install "
        f"foundry-scaffolder=={version} and re-generate with it into a scratch directory to compare",
    )


# ---------------------------------------------------------------------------------------------------------------
# The merge.


def _engine(choice: MergeEngine) -> str:
    if choice == "auto":
        return "git" if shutil.which("git") else "library"
    if choice == "git" and shutil.which("git") is None:
        raise ScaffolderError("git is not on PATH", hint="install git, or use the merge3 library engine")
    return choice


def merge_text(ours: bytes, base: bytes, theirs: bytes, labels: tuple[str, str, str], engine: str,
               scratch: Path) -> tuple[bytes, int]:
    """Three-way merge of one file; returns the merged bytes and the number of conflicts (diff3 markers)."""
    if engine == "git":
        names = ("ours", "base", "theirs")
        paths = [scratch / n for n in names]
        for path, data in zip(paths, (ours, base, theirs), strict=True):
            path.write_bytes(data)
        exe = shutil.which("git") or "git"
        done = subprocess.run(
            [exe, "merge-file", "-p", "--diff3", "-L", labels[0], "-L", labels[1], "-L", labels[2],
             *(str(p) for p in paths)],
            capture_output=True, timeout=60, check=False,
        )
        # The exit code is the number of conflicts (capped at 127); negative (255 here) is an error.
        if done.returncode > 127:
            raise ScaffolderError(f"git merge-file failed: {done.stderr.decode(errors='replace').strip()}")
        return done.stdout, done.returncode
    import merge3

    def lines(data: bytes) -> list[str]:
        return data.decode("utf-8").splitlines(keepends=True)

    merger = merge3.Merge3(lines(base), lines(ours), lines(theirs))
    conflicts = sum(1 for region in merger.merge_regions() if region[0] == "conflict")
    text = "".join(merger.merge_lines(name_a=labels[0], name_b=labels[2], name_base=labels[1],
                                      base_marker="|||||||"))
    return text.encode("utf-8"), conflicts


def _is_text(data: bytes) -> bool:
    if b"\0" in data:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _read_ours(directory: Path, rel: str) -> tuple[bytes, int] | None:
    # Never through a link (a linked folder would put a file from outside the repo into the diff and the
    # merge), never a FIFO or an unbounded file: the repo may come from a pull request.
    try:
        return safeio.read_beneath(directory, rel)
    except (OSError, safeio.UnsafeInputError):
        return None


def _foreign(directory: Path, rel: str) -> bool:
    """Not a regular file (a symlink, a directory) where the generator writes a file, or behind a linked folder."""
    path = directory / rel
    if linked_component(directory, rel) is not None:
        return True
    # A file too large to read bounded is kept as the user's rather than read as missing and replaced.
    return path.exists() and (not path.is_file() or path.stat().st_size > safeio.MAX_TEXT_BYTES)


@dataclass
class _Merged:
    writes: dict[str, PlannedFile] = field(default_factory=dict)
    deletes: list[str] = field(default_factory=list)
    changes: list[FileChange] = field(default_factory=list)
    bookkeeping: list[str] = field(default_factory=list)
    review: list[str] = field(default_factory=list)
    binary: list[str] = field(default_factory=list)


def _same_files(base: Mapping[str, PlannedFile], theirs: Mapping[str, PlannedFile]) -> bool:
    def content(files: Mapping[str, PlannedFile]) -> dict[str, tuple[bytes, int]]:
        return {k: (f.content, f.mode) for k, f in files.items() if k not in _BOOKKEEPING}

    return content(base) == content(theirs)


def merge_trees(
    directory: Path,
    base: Mapping[str, PlannedFile],
    theirs: Mapping[str, PlannedFile],
    *,
    labels: tuple[str, str, str],
    engine: str,
    confirm: Mapping[str, PlannedFile] | None = None,
) -> _Merged:
    """Decide every path: replace, keep, merge, conflict, delete; nothing is written here.

    `confirm`, for a base read from git history, is this version's rendering of the recorded spec: a file
    replaced or deleted whose base differs from it may hold edits made before the first commit, so it is listed
    in `review` (the base cannot tell such an edit from what the old version generated).
    """

    def unconfirmed(rel: str, b: PlannedFile) -> bool:
        return confirm is not None and (rel not in confirm or confirm[rel].content != b.content)

    out = _Merged()
    # git merge-file's three inputs (copies of the user's files) go in a private (0700) folder in the system
    # temp dir, removed at the end: nothing is written beside the repo, outside it, that could linger.
    with tempfile.TemporaryDirectory(prefix="scaffolder-merge-") as tmp:
        scratch = Path(tmp)
        for rel in sorted(set(base) | set(theirs)):
            b, t = base.get(rel), theirs.get(rel)
            if _foreign(directory, rel):
                # The user put a link or a directory there: theirs to keep, never written through or over.
                out.changes.append(FileChange(rel, "kept-edited"))
                continue
            mine = _read_ours(directory, rel)
            if rel == PRISTINE_FILE and t is not None and mine is not None and _same_files(base, theirs):
                continue  # same generated files: keep the archive even if another zlib compresses differently
            if rel in _BOOKKEEPING:
                if t is not None and (mine is None or mine[0] != t.content):
                    out.writes[rel] = t
                    out.bookkeeping.append(rel)
                continue
            # A CRLF working copy (Windows, core.autocrlf) is compared and merged as LF, written back as CRLF.
            crlf = mine is not None and b"\r\n" in mine[0] and _is_text(mine[0])
            if mine is not None and crlf:
                mine = (mine[0].replace(b"\r\n", b"\n"), mine[1])
            if t is None:
                assert b is not None
                if mine is None:
                    continue
                if mine[0] == b.content:
                    if unconfirmed(rel, b):
                        out.review.append(rel)
                    out.deletes.append(rel)
                    out.changes.append(FileChange(rel, "delete"))
                else:
                    out.changes.append(FileChange(rel, "kept-edited"))
                continue
            if mine is None:
                if b is None:
                    out.writes[rel] = t
                    out.changes.append(FileChange(rel, "create"))
                elif b.content != t.content:
                    out.changes.append(FileChange(rel, "kept-deleted"))
                continue
            ours, mode = mine
            if ours == t.content:
                if _exe(mode) != _exe(t.mode) and (b is None or _exe(b.mode) == _exe(mode)):
                    # Only the executable bit changed in the generator (and the user never changed it).
                    out.writes[rel] = _crlf(t, t.mode) if crlf else t
                    out.changes.append(FileChange(rel, "update"))
                continue
            if b is not None and ours == b.content:
                if unconfirmed(rel, b):
                    out.review.append(rel)
                out.writes[rel] = _crlf(t, t.mode) if crlf else t
                out.changes.append(FileChange(rel, "update"))
                continue
            if b is not None and b.content == t.content:
                continue  # only the user changed it
            base_bytes = b.content if b is not None else b""
            if not (_is_text(ours) and _is_text(base_bytes) and _is_text(t.content)):
                out.changes.append(FileChange(rel, "conflict"))
                out.binary.append(rel)
                continue  # a binary file both changed: kept as it is, listed
            merged, conflicts = merge_text(ours, base_bytes, t.content, labels, engine, scratch)
            if merged != ours:
                done = PlannedFile(PurePosixPath(rel), merged, mode)
                out.writes[rel] = _crlf(done, mode) if crlf else done
            out.changes.append(FileChange(rel, "conflict" if conflicts else "merge"))
    return out


def _exe(mode: int) -> bool:
    return mode & 0o111 != 0


def _crlf(f: PlannedFile, mode: int) -> PlannedFile:
    """`f` with CRLF line endings (for a working copy that uses them)."""
    lf = f.content.replace(b"\r\n", b"\n")
    return PlannedFile(f.path, lf.replace(b"\n", b"\r\n"), mode)


def _diff(directory: Path, merged: _Merged) -> str:
    chunks: list[str] = []
    for rel in sorted(set(merged.writes) | set(merged.deletes)):
        if rel == PRISTINE_FILE:
            continue
        mine = _read_ours(directory, rel)
        before = mine[0].decode("utf-8", errors="replace") if mine else ""
        after = merged.writes[rel].content.decode("utf-8", errors="replace") if rel in merged.writes else ""
        chunks.extend(difflib.unified_diff(
            before.splitlines(keepends=True), after.splitlines(keepends=True),
            fromfile=f"a/{rel}" if mine else "/dev/null", tofile=f"b/{rel}" if rel in merged.writes else "/dev/null",
        ))
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in chunks)


# ---------------------------------------------------------------------------------------------------------------
# The command.


def update(
    directory: Path,
    overrides: Mapping[str, Any] | None = None,
    *,
    standards: LoadedStandards | None = None,
    decision_answers: Mapping[str, Any] | None = None,
    dry_run: bool = False,
    allow_dirty: bool = False,
    merge_engine: MergeEngine = "auto",
    add_tools: Sequence[str] = (),
    remove_tools: Sequence[str] = (),
) -> UpdateResult:
    """Re-apply the generator to a generated repo; with dry_run, compute everything and write nothing.

    add_tools (`--tool` texts) adds tools or changes a recorded tool's options; remove_tools (names) removes
    tools; the result is validated like `new --tool` (a tool the runtime cannot offer is refused, nothing written).

    Raises before writing anything when the spec is invalid (an incompatible model names the compatible
    ones), the standards are broken, the git tree is dirty (unless allow_dirty), or the base is unknown.
    Conflicts are not an exception: they are written with markers and listed in the result.
    """
    from scaffolder.spec import load_answers

    directory = directory.resolve()
    spec_before, version = load_answers(directory)
    if spec_before.standards is not None and standards is None:
        # Without the file, its overlay files would read as "no longer generated" and its tags and rules
        # would go unchecked: ask for it rather than guess.
        raise StandardsError(
            f"{directory.name} was generated under the standards {spec_before.standards.name!r} "
            f"({spec_before.standards.source}), and no standards file is in force",
            hint="pass --standards FILE (or set $SCAFFOLDER_STANDARDS) so the update applies them",
        )
    if add_tools or remove_tools:
        recorded = [(t.name, t.options) for t in spec_before.tools]
        overrides = {**dict(overrides or {}), "tools": changed_tools(recorded, add_tools, remove_tools)}
    if not dry_run and not allow_dirty:
        refuse_dirty(directory)
    spec, notes = updated_spec(spec_before, overrides, standards=standards, decision_answers=decision_answers)
    from scaffolder._new import with_quota_usage

    spec, quota_notes = with_quota_usage(spec)
    notes = [*notes, *quota_notes]
    overlays = standards.overlay_dirs() if standards else []
    plan = with_pristine(plan_files(spec, overlays))
    theirs = {str(f.path): f for f in plan.files}
    base, source = merge_base(directory, spec_before, version, overlays, set(theirs))
    _refuse_unresolved(directory, set(theirs) | set(base))
    base, ignored = _owned(base, spec_before, spec, overlays, set(theirs))
    if ignored:
        shown = ", ".join(ignored[:3]) + (f" and {len(ignored) - 3} more" if len(ignored) > 3 else "")
        notes.append(f"{PRISTINE_FILE} lists {len(ignored)} path(s) the generator never writes ({shown}); "
                     "ignored, never deleted")
    engine = _engine(merge_engine)
    labels = (f"yours ({directory.name})", f"generated by foundry-scaffolder {version}",
              f"generated by foundry-scaffolder {__version__}")
    confirm = None
    if source.startswith("git commit"):
        confirm = {str(f.path): f for f in plan_files(spec_before, overlays, tool_version=version).files}
    merged = merge_trees(directory, base, theirs, labels=labels, engine=engine, confirm=confirm)
    if merged.binary:
        notes.append(f"binary file(s) both you and the generator changed: {', '.join(merged.binary)}; yours kept as "
                     f"is (no markers written), the new generation is in {PRISTINE_FILE}")
    if merged.review:
        shown = ", ".join(merged.review[:5]) + (f" and {len(merged.review) - 5} more" if len(merged.review) > 5
                                                 else "")
        notes.append(f"review {len(merged.review)} file(s) replaced or deleted from a git-history base ({source}): "
                     f"{shown}; edits made before that commit read as generated text and are not kept "
                     "(git diff HEAD shows them)")
    raw = _answers_doc(directory)
    if raw.get("schema", 1) != 2 and ANSWERS_FILE in merged.writes:
        notes.append(f"{ANSWERS_FILE} migrated from schema {raw.get('schema', 1)} to 2")
    if spec.runtime != spec_before.runtime:
        notes = [*spec.decision.changes, *notes]
    result = UpdateResult(
        directory=directory, spec_before=spec_before, spec=spec, version_before=version, base_source=source,
        changes=tuple(merged.changes), notes=tuple(notes), dry_run=dry_run, merge_engine=engine,
        bookkeeping=tuple(merged.bookkeeping), review=tuple(merged.review),
        diff=_diff(directory, merged) if dry_run else "",
    )
    if dry_run or not (merged.writes or merged.deletes):
        return result
    # Overlay hooks ran when the repo was generated; they expect a whole repo, so update does not run them.
    # The answers file and the archive (the next merge base) go last, after every other write and delete: an
    # interrupted update keeps the old base, so running update again finishes it (files already written
    # equal theirs and are skipped).
    files = [merged.writes[k] for k in sorted(merged.writes) if k not in _BOOKKEEPING]
    books = [merged.writes[k] for k in _BOOKKEEPING if k in merged.writes]
    # Nothing is left outside the repo: when git holds every file this run replaces or deletes (tracked and
    # unchanged), git is the backup; otherwise the old files go to BACKUPS_DIR/<UTC time>/ inside the repo.
    touched = [k for k in merged.writes if (directory / k).exists()] + list(merged.deletes)
    keep = None if _git_holds(directory, touched) else _backup_folder(directory)
    kept: list[Path] = []
    try:
        if files:
            write_plan(FilePlan(spec, tuple(files)), directory, force=True, on_backup=kept.append,
                       backups="none" if keep is None else keep)
        _delete(directory, merged.deletes, keep)
        if books:
            write_plan(FilePlan(spec, tuple(books)), directory, force=True, on_backup=kept.append,
                       backups="none" if keep is None else keep)
    except KeyboardInterrupt:
        raise UpdateInterrupted(
            f"update of {directory} interrupted before it finished; {ANSWERS_FILE} still records the old "
            "generation", hint="run the same `scaffolder update` again to finish it",
        ) from None
    if keep is None and touched:
        note = "previous versions are in git: `git diff` / `git checkout -- FILE`"
    elif keep is not None and keep.is_dir():
        note = (f"the files this update replaced or deleted are kept in {keep.relative_to(directory).as_posix()}/ "
                f"(git-ignored; delete when satisfied)")
    else:
        note = ""
    if note:
        result = dataclasses.replace(result, notes=(*result.notes, note))
    return result


def _git_holds(directory: Path, paths: list[str]) -> bool:
    """Whether git has every one of paths tracked and unchanged in the work tree (so it holds their bytes)."""
    if not paths or not _in_git_work_tree(directory):
        return False
    # --ignored and untracked-files=all list every path git does not hold as committed; literal: no pathspec magic.
    done = _git(directory, "--literal-pathspecs", "status", "--porcelain", "--ignored", "--untracked-files=all",
                "--", *paths)
    if done is None or done.returncode != 0 or done.stdout.strip():
        return False
    listed = _git(directory, "--literal-pathspecs", "ls-files", "-z", "--", *paths)
    return (listed is not None and listed.returncode == 0
            and set(listed.stdout.split("\0")) - {""} >= set(paths))


def _backup_folder(directory: Path) -> Path:
    """A new BACKUPS_DIR/<UTC time> path inside the repo (created when the first old file lands in it)."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    folder = directory / BACKUPS_DIR / stamp
    n = 1
    while folder.exists():
        n += 1
        folder = directory / BACKUPS_DIR / f"{stamp}-{n}"
    return folder


def _delete(directory: Path, deletes: list[str], keep: Path | None = None) -> None:
    for rel in deletes:
        path = directory / rel
        if linked_component(directory, rel) is not None:
            continue  # a link appeared since the merge was computed: never delete through it
        if keep is not None and path.is_file():
            (keep / rel).parent.mkdir(parents=True, exist_ok=True)
            path.replace(keep / rel)  # moved whole into the repo's backups, not lost
        else:
            path.unlink(missing_ok=True)
        parent = path.parent
        while parent != directory and parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()
            parent = parent.parent
