"""`check`: validate a generated repo for CI — Bicep, security, schema, consistency, standards, model lifecycle."""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from scaffolder import __version__, catalog, infra, safeio
from scaffolder.errors import AcceptedFileError, AnswersFileError, ScaffolderError, ToolError, yaml_problem
from scaffolder.spec import ANSWERS_FILE, ProjectSpec, load_answers, today
from scaffolder.standards import LoadedStandards, violations
from scaffolder.validate import Checkov, Finding, sorted_findings

# Files the generator writes from the answers file: a difference is reported (info), the user's version kept.
OWNED = ("infra/", "azure.yaml", ".env.example", "Dockerfile", ".dockerignore", ANSWERS_FILE)
# bicep build diagnostics: "<file>(<line>,<col>) : Error BCP037: <message>"
_BICEP_DIAG = re.compile(
    r"^(?P<file>.+?)\((?P<line>\d+),(?P<col>\d+)\) : (?P<sev>Error|Warning) (?P<code>\w+): (?P<msg>.*)$"
)


@dataclass(frozen=True)
class CheckResult:
    """Findings and notes (what was skipped and why).

    Errors (what breaks deployment or security) fail the check; information (differences from what the
    generator would write, each with the command that reconciles them) fails it only when `strict`.
    """

    directory: Path
    findings: tuple[Finding, ...]
    notes: tuple[str, ...] = ()
    layers: tuple[str, ...] = field(default_factory=tuple)
    strict: bool = False
    # Differences from the generator recorded as intended in ACCEPTED_FILE: reported by count, never failing.
    accepted: tuple[Finding, ...] = ()
    # Differences from another tool version's templates, folded into one note instead of findings (not strict):
    # still recorded by `accept`, so the `--accept` a strict run printed clears them when run as printed.
    folded: tuple[Finding, ...] = ()

    @property
    def errors(self) -> tuple[Finding, ...]:
        """Findings that fail the check: errors, and with strict the differences from the generator (drift/*)."""
        return tuple(f for f in self.findings
                     if f.severity == "error" or (self.strict and f.rule.startswith("drift/")))

    @property
    def information(self) -> tuple[Finding, ...]:
        """Findings reported without failing the check (warnings; under strict, drift is not among them)."""
        return tuple(f for f in self.findings if f not in self.errors)

    @property
    def ok(self) -> bool:
        """True when nothing fails the check (warnings, such as a model retiring soon, and information do not)."""
        return not self.errors

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "directory": str(self.directory),
            "ok": self.ok,
            "strict": self.strict,
            "layers": list(self.layers),
            "findings": [
                {"rule": f.rule, "severity": f.severity, "file": f.file, "line": f.line, "message": f.message,
                 "fails": f in self.errors}
                | {k: v for k, v in (("expected", f.expected), ("found", f.found), ("fix", f.fix)) if v}
                for f in self.findings
            ],
            "notes": list(self.notes),
            "accepted": [{"rule": f.rule, "file": f.file, "message": f.message} for f in self.accepted],
        }


def user_checkov_venv() -> Path:
    """Where `scaffolder check --install-checkov` puts checkov (its own venv: it pins its own parser)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "foundry-scaffolder" / "checkov-venv"


def locate_checkov(explicit: Path | None = None) -> Path | None:
    """A venv holding checkov: --checkov-venv, $SCAFFOLDER_CHECKOV_VENV, the user cache, or checkov on PATH."""
    from scaffolder.validate import find_checkov_venv

    if explicit is not None:
        # An explicit venv that holds no checkov is a mistake, not a reason to skip the security layer.
        found = find_checkov_venv(explicit) if explicit.exists() else None
        if found is None:
            raise ToolError(f"--checkov-venv {explicit} holds no checkov",
                            hint="point it at a venv with checkov installed, or drop it to use the default")
        return found
    on_path = shutil.which("checkov")
    candidates = [user_checkov_venv()] + ([Path(on_path).resolve().parent.parent] if on_path else [])
    return find_checkov_venv(*candidates)


def check(
    directory: Path,
    *,
    standards: LoadedStandards | None = None,
    checkov: Path | Checkov | None = None,
    bicep: str | None = None,
    offline_only: bool = False,
    strict: bool | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> CheckResult:
    """Run every check on a generated repo; never raises for findings (the caller decides the exit code).

    `checkov` is a venv holding checkov and `bicep` a Bicep CLI (defaults: found as `locate_checkov` and
    PATH say); `offline_only` skips both external tools. Differences from the generator are information,
    validated like the rest (user-added Bicep files and resources go through every layer); `strict` (default:
    the standards' `check.strict`) makes them (drift/* only, never warnings) fail the check too.
    `progress(file, done, total)` hears of each file checkov finished.
    """
    answers = directory / ANSWERS_FILE
    if answers.is_symlink() and not safeio.is_inside(answers, directory):
        raise AnswersFileError(f"{answers} is a link to a file outside the repo; not followed",
                               hint="commit the answers file itself, not a link")
    spec, version = load_answers(directory)
    if strict is None:
        strict = bool(standards and standards.standards.check.strict)
    findings: list[Finding] = []
    notes: list[str] = []
    layers = ["answers", "drift", "consistency", "lifecycle"]
    overlays = standards.overlay_dirs() if standards else []
    standards_file = standards.source if standards else None
    drifted = drift(directory, spec, overlays, version, standards_file)
    recorded = load_accepted(directory)
    accepted = [f for f in drifted if f.digest and f.digest in recorded]
    drifted = [f for f in drifted if f not in accepted]
    if accepted:
        notes.append(f"{len(accepted)} difference(s) from the generator accepted in {ACCEPTED_FILE} "
                     "(not reported while neither side changes)")
    folded: list[Finding] = []
    if version == __version__ or strict:
        findings += drifted
    else:
        folded = drifted
        # Another tool version's templates may differ without any hand edit: a note, not a finding per file.
        notes.append(f"generated by foundry-scaffolder {version}, checked with {__version__}: "
                     f"{len(drifted)} generated file(s) differ from this version's templates"
                     + (f" ({', '.join(sorted({f.file for f in drifted}))}); "
                        f"`{_update_command(directory, standards=standards_file)}` "
                        "brings in this version's templates, keeping your edits" if drifted else ""))
    findings += consistency(directory, spec)
    life, life_notes = lifecycle_findings(directory, spec)
    findings += life
    notes += life_notes
    if standards is not None:
        layers.append("standards")
        findings += standards_drift(spec, standards)
        if spec.standards and spec.standards.sha256 != standards.sha256:
            notes.append(f"the standards file changed since generation ({standards.source}): "
                         f"`{_update_command(directory, standards=standards.source)}` applies it")
    else:
        notes.append("no standards file in force (--standards, $SCAFFOLDER_STANDARDS or the user config)")
    from scaffolder.validate import validate_repo

    venv = None if offline_only else (checkov if isinstance(checkov, Checkov) else locate_checkov(checkov))
    if offline_only:
        notes.append("checkov and `bicep build` skipped because of --offline (the offline layers ran)")
    elif venv is None:
        notes.append("checkov not found: its security checks were skipped (`scaffolder check --install-checkov`)")
    if isinstance(venv, Path):
        venv = Checkov(venv, on_file=progress)
    layers += ["syntax", "semantics", "policies", "types"] + (["checkov"] if venv else [])
    findings += validate_repo(directory, checkov=venv)
    bicep_exe = None if offline_only else (bicep or shutil.which("bicep"))
    if bicep_exe:
        layers.append("bicep build")
        findings += bicep_build(directory, bicep_exe)
    elif not offline_only:
        notes.append("no Bicep CLI on PATH: `bicep build` skipped (offline checks ran)")
    secrets = secure_literals(directory)
    findings, accepted, folded = (scrub_secrets(f, secrets) for f in (findings, accepted, folded))
    return CheckResult(directory, tuple(sorted_findings(findings)), tuple(notes), tuple(layers), strict,
                       tuple(sorted_findings(accepted)), tuple(folded))


ACCEPTED_FILE = ".scaffolder/accepted.yml"
_ACCEPTED_HEADER = (
    "# Differences from the generator this repo keeps on purpose, written by `scaffolder check --accept`.\n"
    "# `check` (--strict too) stops reporting each one while neither the generated nor your version changes;\n"
    "# review changes to this file like code. Delete an entry to be told about it again.\n"
)


def load_accepted(directory: Path) -> set[str]:
    """The digests recorded in ACCEPTED_FILE (empty when there is none).

    A damaged file (a merge conflict between two branches that each accepted something, a truncated write, a hand
    edit) is a bad input, said in one line with its fix: silently ignoring it would report, or fail under strict,
    every difference the team accepted, with no word of why.
    """
    path = directory / ACCEPTED_FILE
    data = _read_bytes(directory, path)
    if data is None:
        return set()
    text = data.decode("utf-8", errors="replace")
    again = f"`{_accept_command(directory)}`"
    conflict = next((n for n, line in enumerate(text.splitlines(), 1)
                     if line.startswith(("<<<<<<<", "=======", ">>>>>>>"))), None)
    if conflict is not None:
        raise AcceptedFileError(
            f"{ACCEPTED_FILE} line {conflict}: an unresolved merge conflict (git's <<<<<<< ======= >>>>>>> lines)",
            hint=f"keep the entries of both sides and delete the marker lines, or delete the file and run {again}")
    try:
        doc = safeio.load_yaml(text)
    except yaml.YAMLError as exc:
        raise AcceptedFileError(yaml_problem(ACCEPTED_FILE, exc),
                                hint=f"repair it, or delete the file and run {again}") from None
    except (ValueError, safeio.UnsafeInputError) as exc:
        raise AcceptedFileError(f"{ACCEPTED_FILE}: {exc}",
                                hint=f"repair it, or delete the file and run {again}") from None
    entries = doc.get("accepted") if isinstance(doc, dict) else None
    if not isinstance(entries, list) or not all(isinstance(e, dict) and e.get("digest") for e in entries):
        raise AcceptedFileError(f"{ACCEPTED_FILE} is not a list of accepted differences "
                                "('accepted:' followed by '- digest: ...' entries)",
                                hint=f"repair it, or delete the file and run {again}")
    return {str(e["digest"]) for e in entries}


def accept(result: CheckResult) -> CheckResult:
    """Record every current difference from the generator (not errors) as intended; the result without them.

    The file lists all differences accepted now, so entries whose difference is gone drop out. Errors (what breaks
    deployment or security, a retired model, a planted link) are never accepted.
    """
    keep = [f for f in result.findings if f.digest and f.severity == "info"]
    everything = sorted_findings([*result.accepted, *keep, *(f for f in result.folded
                                                            if f.digest and f.severity == "info")])
    notes = [n for n in result.notes if "accepted in" not in n]
    if not everything or len(everything) == len(result.accepted):
        # Nothing new: no file to create or rewrite (and no empty list to commit).
        notes.append("nothing to accept: no difference from the generator" if not everything else
                     f"nothing new to accept: {len(everything)} difference(s) already accepted in {ACCEPTED_FILE}")
        return dataclasses.replace(result, notes=tuple(notes))
    lines = [_ACCEPTED_HEADER.rstrip("\n"), "accepted:"]
    for f in everything:
        lines += [f"  - file: {json.dumps(f.file)}", f"    what: {json.dumps(f.rule + ': ' + f.message)}",
                  f"    digest: {f.digest}"]
    target = result.directory / ACCEPTED_FILE
    if not safeio.is_inside(target, result.directory) or (target.parent.is_symlink()):
        raise AcceptedFileError(f"{ACCEPTED_FILE} leaves the repo (a link); not written",
                                hint="remove the link, then run the same command again")
    target.parent.mkdir(exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)  # a leftover, or a link planted there: removed, never followed
    # O_EXCL|O_NOFOLLOW: a link planted between the unlink and the open fails the open instead of being written.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write("\n".join(lines) + "\n")
    tmp.replace(target)  # atomic: a reader sees the old list or the new one, never half of it
    notes.append(f"{len(everything)} difference(s) from the generator accepted in {ACCEPTED_FILE}: commit it")
    return dataclasses.replace(result, findings=tuple(f for f in result.findings if f not in keep),
                               notes=tuple(notes), accepted=tuple(everything))


def _update_command(directory: Path, *options: str, standards: Path | None = None) -> str:
    # `scaffolder update` (three-way merge of the generator's output with the repo's edits) reconciles; the
    # standards file this check used is named so the update renders the same overlays and rules.
    where = "." if directory.resolve() == Path.cwd().resolve() else shlex.quote(str(directory))
    extra = ["--standards", shlex.quote(str(standards))] if standards is not None else []
    return " ".join(["scaffolder", "update", where, *options, *extra])


def drift(directory: Path, spec: ProjectSpec, overlays: list[Path], version: str = __version__,
          standards_file: Path | None = None) -> list[Finding]:
    """Files the generator writes that differ from (or are missing against) a re-generation from the answers.

    All information: the repo is the user's. Bicep files are compared by declaration (param, var, resource,
    module, output...), not by line: comments, layout (line breaks, commas between items), order and
    descriptions do not count, declarations the user added are theirs (every validation layer reads them), and
    only a generated declaration missing or changed is reported. A change of the model deployments in
    main.parameters.json is reported once, with the deployments on both sides and the `update --model` command
    that records them. Each difference names the command that really clears it: `scaffolder update` when the
    repo still holds what the generator wrote at generation time (the generator moved on), else `scaffolder
    check --accept`, which records the user's version as intended.
    """
    from scaffolder.generate import plan_files

    plan = plan_files(spec, overlays, tool_version=version)
    pristine = _pristine(directory)
    out = []
    take_theirs = _update_command(directory, standards=standards_file)
    keep_ours = _accept_command(directory, standards_file)
    for f in plan.files:
        path = str(f.path)
        if not (path.startswith(OWNED[0]) or path in OWNED[1:]) or path == ANSWERS_FILE:
            continue
        on_disk = directory / path
        if on_disk.is_symlink() and not safeio.is_inside(on_disk, directory):
            # Never followed: a planted link must not bring outside content into the findings (or the CI log).
            out.append(Finding("drift/changed", "error", path, 0,
                               "is a link to a file outside the repo (not followed); commit the generated file",
                               fix=take_theirs))
            continue
        if not on_disk.exists() and not on_disk.is_symlink():
            out.append(Finding("drift/missing", "info", path, 0, "a file the generator writes is missing",
                               expected="the generated file", found="no file", fix=take_theirs,
                               digest=_digest(path, "missing", f.content)))
            continue
        actual = _read_bytes(directory, on_disk)
        if actual is None:
            out.append(Finding("drift/changed", "info", path, 0,
                               "cannot be compared: not a regular file, unreadable or too large",
                               expected="the generated file", found="an unreadable file", fix=take_theirs))
            continue
        if actual == f.content:
            continue
        base = pristine.get(path)
        if path.endswith(".bicep"):
            if _unparsable_bicep(actual):
                continue  # the syntax layer reports it: accepting (or updating) a broken file is no advice
            out += _bicep_drift(path, f.content, actual, base, take_theirs, keep_ours)
            continue
        if path == "infra/main.parameters.json":
            try:
                safeio.load_json(actual.decode("utf-8", errors="replace"))
            except ValueError:
                continue  # not JSON: the parameters-file layer reports it, with its line; no drift advice
            models = _model_drift(directory, spec, actual, standards_file)
            if models is not None:
                out.append(models)
                if _without_models(actual) == _without_models(f.content):
                    continue
        secrets = secure_literals(directory) if path == "infra/main.parameters.json" else []
        line, expected, found = _first_difference(mask(f.content, secrets), mask(actual, secrets))
        unedited = base is not None and base == actual
        if secrets:
            # A committed secret is never recorded as intended (policy/secure-parameter-literal fails the check):
            # no digest, so `--accept` cannot take it, and its value is masked on both sides.
            out.append(Finding("drift/changed", "info", path, line,
                               "differs from what .scaffolder.yml generates and holds a literal value for a "
                               "@secure() parameter, which `check --accept` never records",
                               expected=expected, found=found,
                               fix='replace the literal with "${NAME}" and run `azd env set NAME <value>`'))
            continue
        out.append(Finding("drift/changed", "info", path, line,
                           "differs from what .scaffolder.yml generates (your version is kept and validated)",
                           expected=expected, found=found, fix=take_theirs if unedited else keep_ours,
                           digest=_digest(path, "file", f.content, actual)))
    return out


def secure_literals(directory: Path) -> list[str]:
    """The committed values of main.bicep's @secure() params in infra/main.parameters.json, longest first.

    A literal value, or the default of "${VAR=default}" (policy/secure-parameter-literal reports both as
    errors); "${VAR}" alone is a reference, not a secret. `check` prints none of them (see `mask`).
    """
    from scaffolder.validate import load_project
    from scaffolder.validate.rules.secure_parameter_literal import committed_values

    main = load_project(directory).main
    data = _read_bytes(directory, directory / "infra" / "main.parameters.json")
    if main is None or data is None:
        return []
    try:
        params = safeio.load_json(data.decode("utf-8", errors="replace"))["parameters"]
    except (ValueError, KeyError, TypeError):
        return []
    out: set[str] = set()
    for name, decl in main.params.items():
        entry = params.get(name) if isinstance(params, dict) else None
        if decl.decorator("secure") is not None and isinstance(entry, dict):
            out.update(committed_values(entry.get("value")))
    return sorted((s for s in out if s), key=lambda s: (-len(s), s))


def mask(content: bytes, secrets: list[str]) -> bytes:
    """The parameters file with each secret's JSON string shown as "***" (before lines are cut short).

    Whole strings ("secret") and ${VAR=secret} defaults are replaced, never bare substrings: a short value must
    not garble every line that happens to contain it.
    """
    text = content.decode("utf-8", errors="replace")
    for secret in secrets:
        for form in {json.dumps(secret), json.dumps(secret, ensure_ascii=False)}:
            inner = form[1:-1]
            text = text.replace(form, f'"{MASK}"').replace(f"={inner}}}", f"={MASK}}}")
    return text.encode("utf-8")


MASK = "***"
# A secret this long is masked wherever it appears; a shorter one only as a whole quoted string.
_BARE_MASK_LENGTH = 8


def scrub_secrets(findings: list[Finding], secrets: list[str]) -> list[Finding]:
    """Findings with every secure parameter's committed value masked in every text, whichever layer wrote it."""
    if not secrets:
        return findings

    def clean(text: str) -> str:
        for secret in secrets:
            escaped = json.dumps(secret)[1:-1]
            for form in {secret, escaped, repr(secret)[1:-1]}:
                if len(secret) >= _BARE_MASK_LENGTH:
                    text = text.replace(form, MASK)
                for quote in ('"', "'"):
                    text = text.replace(f"{quote}{form}{quote}", f"{quote}{MASK}{quote}")
                text = text.replace(f"={form}}}", f"={MASK}}}")
        return text

    return [dataclasses.replace(f, message=clean(f.message), expected=clean(f.expected), found=clean(f.found),
                                fix=clean(f.fix)) for f in findings]


def _unparsable_bicep(content: bytes) -> bool:
    from scaffolder.validate import parse_bicep

    return bool(parse_bicep(content).root_node.has_error)


def _accept_command(directory: Path, standards: Path | None = None) -> str:
    where = "." if directory.resolve() == Path.cwd().resolve() else shlex.quote(str(directory))
    extra = ["--standards", shlex.quote(str(standards))] if standards is not None else []
    return " ".join(["scaffolder", "check", where, "--accept", *extra])


def _digest(*parts: str | bytes) -> str:
    """A fingerprint of what a difference compares (both sides): an acceptance holds while neither side changes."""
    h = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8") if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "big") + data)
    return h.hexdigest()[:32]


def _pristine(directory: Path) -> dict[str, bytes]:
    """What the generator wrote at generation time (the repo's pristine archive), by path; empty when absent."""
    from scaffolder.generate._plan import PRISTINE_FILE, unpack_pristine

    data = _read_bytes(directory, directory / PRISTINE_FILE, limit=64 * 1024 * 1024)  # an archive of every file
    if data is None:
        return {}
    try:
        return {path: planned.content for path, planned in unpack_pristine(data).items()}
    except (OSError, EOFError, ValueError, tarfile.TarError, ScaffolderError):
        return {}  # a damaged archive only loses the "update reconciles it" distinction


@dataclass(frozen=True)
class _Declaration:
    kind: str
    name: str
    tokens: str  # the declaration without comments, layout or @description: what deploys
    line: int
    source: bytes
    # (line within the declaration, 1-based; its text) of each line that counts: comments, descriptions and blank
    # lines left out, so expected/found show the change the comparison saw, not a reworded description.
    significant: tuple[tuple[int, str], ...] = ()


def _declarations(content: bytes) -> dict[tuple[str, str], _Declaration]:
    """The top-level declarations of a Bicep file by (kind, name), each with its decorators."""
    from scaffolder.validate import DECL_NODES, TRIVIA, node_text, parse_bicep

    root = parse_bicep(content).root_node
    out: dict[tuple[str, str], _Declaration] = {}
    pending: list[Any] = []
    for node in root.named_children:
        if node.type in TRIVIA:
            continue
        if node.type == "decorators":
            pending.append(node)
            continue
        kind = "targetScope" if node.type == "target_scope_assignment" else DECL_NODES.get(node.type, node.type)
        ident = next((c for c in node.named_children if c.type == "identifier"), None)
        name = node_text(ident) if ident is not None and kind != "targetScope" else ""
        start = pending[0] if pending else node
        described = [dec for d in pending for dec in d.named_children
                     if re.match(r"@(sys\.)?description\(", node_text(dec))]
        tokens = [t for d in pending for dec in d.named_children if dec not in described for t in _tokens(dec)]
        key = (kind, name)
        if key in out:  # a duplicate is the semantics layer's error; keep both apart
            key = (kind, f"{name}#{node.start_point.row + 1}")
        erase = described + [c for top in [*pending, node] for c in _walk(top) if c.type in TRIVIA]
        out[key] = _Declaration(kind, name, " ".join(tokens + _tokens(node)), start.start_point.row + 1,
                                content[start.start_byte:node.end_byte],
                                _significant(content, start.start_byte, node.end_byte, erase))
        pending = []
    return out


def _walk(node: Any) -> list[Any]:
    out, stack = [], [node]
    while stack:
        current = stack.pop()
        out.append(current)
        stack.extend(current.children)
    return out


def _significant(content: bytes, start: int, end: int, erase: list[Any]) -> tuple[tuple[int, str], ...]:
    """The declaration's lines with the erased nodes blanked (newlines kept, so line numbers hold), blanks dropped."""
    source = bytearray(content[start:end])
    for node in erase:
        for i in range(node.start_byte - start, node.end_byte - start):
            if source[i] != ord("\n"):
                source[i] = ord(" ")
    lines = bytes(source).decode("utf-8", errors="replace").splitlines()
    return tuple((n, line.strip()) for n, line in enumerate(lines, 1) if line.strip())


def _tokens(node: Any) -> list[str]:
    from scaffolder.validate import TRIVIA

    out: list[str] = []
    stack = [node]
    while stack:
        current = stack.pop()
        if current.type in TRIVIA:
            continue
        if current.child_count == 0:
            token = (current.text or b"").decode("utf-8", errors="replace")
            # Item separators are layout: `[\n 'a'\n 'b'\n]` and `['a', 'b']` deploy the same.
            if token.strip() and token != ",":
                out.append(token)
        stack.extend(reversed(current.children))
    return out


def _bicep_drift(path: str, expected: bytes, actual: bytes, base: bytes | None, update: str,
                 accept: str) -> list[Finding]:
    """Generated declarations missing or changed in a Bicep file; the user's own declarations are not drift."""
    want, have = _declarations(expected), _declarations(actual)
    was = _declarations(base) if base is not None else {}
    out = []
    for key, decl in want.items():
        label = f"{decl.kind} {decl.name}".strip()
        mine = have.get(key)
        before = was.get(key)
        if mine is None:
            # Absent from what the generator wrote at generation time: the generator added it since, and `update`
            # brings it in (accepting would mute a declaration the generator adds, a security fix say). Present
            # then (or no archive to tell): the user removed it, which `update` keeps, so accepting is the fix.
            added_since = base is not None and key not in was
            out.append(Finding("drift/removed", "info", path, 0,
                               f"the generated {label} is not in the file (your file is deployed as it is)",
                               expected=_shown(decl.source.decode("utf-8", "replace").splitlines(), "nothing"),
                               found="no such declaration", fix=update if added_since else accept,
                               digest=_digest(path, "removed", label, decl.tokens)))
            continue
        if mine.tokens == decl.tokens:
            continue
        line, shown_expected, shown_found = _first_significant_difference(decl, mine)
        unedited = before is not None and before.tokens == mine.tokens
        out.append(Finding("drift/changed", "info", path, mine.line + line - 1,
                           f"{label} differs from what .scaffolder.yml generates "
                           "(yours is deployed; accept it or restore the expected)",
                           expected=shown_expected, found=shown_found, fix=update if unedited else accept,
                           digest=_digest(path, "changed", label, decl.tokens, mine.tokens)))
    return out


def _deployment_text(dep: dict[str, Any]) -> str:
    text = f"{dep.get('model')}@{dep.get('version')} {dep.get('sku')} capacity {dep.get('capacity')}"
    return text + (f" as {dep.get('name')}" if dep.get("name") != dep.get("model") else "")


def _model_option(dep: dict[str, Any]) -> str:
    option = f"{dep.get('model')}@{dep.get('version')},sku={dep.get('sku')},capacity={dep.get('capacity')}"
    if dep.get("name") != dep.get("model"):
        option += f",deployment={dep.get('name')}"
    if dep.get("model") not in catalog.models():
        option += f",format={dep.get('format')}"
    return shlex.quote(option)


def _deployments(content: bytes) -> list[dict[str, Any]] | None:
    try:
        value = safeio.load_json(content.decode("utf-8", errors="replace"))["parameters"]["modelDeployments"]["value"]
    except (ValueError, KeyError, TypeError):
        return None
    return value if isinstance(value, list) and all(isinstance(d, dict) for d in value) else None


def _without_models(content: bytes) -> Any:
    try:
        doc = safeio.load_json(content.decode("utf-8", errors="replace"))
        doc["parameters"].pop("modelDeployments", None)
        doc["parameters"].pop("primaryModelDeployment", None)
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    return doc


def _model_drift(
    directory: Path, spec: ProjectSpec, actual: bytes, standards_file: Path | None = None
) -> Finding | None:
    """The model deployments of main.parameters.json against the spec's, with the command recording them."""
    found = _deployments(actual)
    keys = ("name", "model", "version", "format", "sku", "capacity")
    expected = infra.model_deployments(spec)
    if found is None or [{k: d.get(k) for k in keys} for d in found] == [{k: d[k] for k in keys} for d in expected]:
        return None
    fix = _update_command(directory, *(f"--model {_model_option(d)}" for d in found), standards=standards_file)
    return Finding("drift/models", "info", "infra/main.parameters.json", _line_of(actual, '"modelDeployments"'),
                   "model deployments differ from .scaffolder.yml (yours are deployed and kept)",
                   expected="; ".join(_deployment_text(d) for d in expected),
                   found="; ".join(_deployment_text(d) for d in found), fix=fix)


def _line_of(content: bytes, needle: str) -> int:
    lines = content.decode("utf-8", errors="replace").splitlines()
    return next((i for i, line in enumerate(lines, 1) if needle in line), 0)


def _first_difference(expected: bytes, actual: bytes) -> tuple[int, str, str]:
    """The first changed block (difflib): its line in the repo, and its first non-blank line on each side."""
    want = expected.decode("utf-8", errors="replace").splitlines()
    have = actual.decode("utf-8", errors="replace").splitlines()
    blocks = [op for op in difflib.SequenceMatcher(None, want, have, autojunk=False).get_opcodes() if op[0] != "equal"]
    if not blocks:  # only line endings differ
        return 1, "the same lines with other line endings", "other line endings"
    _, i1, i2, j1, j2 = blocks[0]
    removed = sum(b[2] - b[1] for b in blocks)
    added = sum(b[4] - b[3] for b in blocks)
    summary = f" ({added} line(s) added, {removed} removed in all)"
    return j1 + 1, _shown(want[i1:i2], "nothing here"), _shown(have[j1:j2], "nothing here") + summary


def _first_significant_difference(want: _Declaration, have: _Declaration) -> tuple[int, str, str]:
    """The first changed block of the lines that count (what the tokens compare): its line in `have`, both sides."""
    a, b = [t for _, t in want.significant], [t for _, t in have.significant]
    blocks = [op for op in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes() if op[0] != "equal"]
    if not blocks:  # the same lines, split or joined otherwise: show the first line that counts on each side
        return 1, _shown(a[:1], "nothing here"), _shown(b[:1], "nothing here")
    _, i1, i2, j1, j2 = blocks[0]
    where = have.significant[j1][0] if j1 < len(b) else (have.significant[-1][0] if b else 1)
    return where, _shown(a[i1:i2], "nothing here"), _shown(b[j1:j2], "nothing here")


def _shown(lines: list[str], empty: str) -> str:
    line = next((x.strip() for x in lines if x.strip()), "")
    if not line:
        return empty if not lines else "blank line(s)"
    return repr(line if len(line) <= 100 else line[:97] + "...")


def consistency(directory: Path, spec: ProjectSpec) -> list[Finding]:
    """Spec, Bicep outputs, .env.example and the app settings name the same variables."""
    out = []
    wanted = [v.name for v in infra.app_env(spec)]
    main = directory / "infra" / "main.bicep"
    if main.is_file():
        outputs = set(re.findall(r"^output (\w+) ", _read(main, directory), flags=re.MULTILINE))
        for name in wanted:
            if name not in outputs:
                out.append(Finding("consistency/output", "error", "infra/main.bicep", 0,
                                   f"{name} is read by the app but is not a Bicep output"))
    example = directory / ".env.example"
    if example.is_file():
        listed = re.findall(r"^([A-Z][A-Z0-9_]*)=", _read(example, directory), flags=re.MULTILINE)
        for name in sorted(set(wanted) - set(listed)):
            out.append(Finding("consistency/env-example", "error", ".env.example", 0, f"{name} is not listed"))
    settings = directory / "src" / spec.package / "settings.py"
    if settings.is_file():
        text = _read(settings, directory)
        for name in wanted:
            # pydantic-settings reads env var NAME into the field `name` (case-insensitive).
            if not re.search(rf"^\s+{name.lower()}\s*:", text, flags=re.MULTILINE):
                out.append(Finding("consistency/settings", "error", f"src/{spec.package}/settings.py", 0,
                                   f"{name} is not read by the app settings"))
    else:
        out.append(Finding("consistency/settings", "error", f"src/{spec.package}/settings.py", 0,
                           "the app settings module is missing"))
    params = directory / "infra" / "main.parameters.json"
    if params.is_file():
        try:
            values = safeio.load_json(_read(params, directory))["parameters"]
            deployed = [d.get("name") for d in values.get("modelDeployments", {}).get("value", [])]
        except ValueError:
            pass  # not JSON: the parameters-file layer (params-file/invalid) reports it once, at its line
        except (KeyError, TypeError, AttributeError):
            out.append(Finding("consistency/parameters", "error", "infra/main.parameters.json", 0,
                               "not a valid ARM parameters file"))
        else:
            # Which models are deployed is the user's choice (drift/models reports it); the app calling a
            # deployment that is not deployed breaks it.
            primary = values.get("primaryModelDeployment", {}).get("value")
            if isinstance(primary, str) and "${" not in primary and primary not in deployed:
                out.append(Finding("consistency/parameters", "error", "infra/main.parameters.json", 0,
                                   f"primaryModelDeployment {primary!r} (the deployment the app calls) is not among "
                                   f"the model deployments {deployed}"))
    return out


def _read_bytes(repo: Path, path: Path, limit: int = safeio.MAX_TEXT_BYTES) -> bytes | None:
    """A file of the repo, or None when missing, not a regular file, too large or a link leaving the repo.

    A pull request can plant a link to a secrets file or /proc/self/environ: such a link is never read,
    so nothing from outside the repo can reach the findings (and the CI log).
    """
    try:
        return safeio.read_confined(path, repo, limit=limit)
    except (OSError, safeio.UnsafeInputError):
        return None


def _read(path: Path, repo: Path) -> str:
    # A hand-damaged file is a finding elsewhere (drift); reading it must not crash the check.
    data = _read_bytes(repo, path)
    return "" if data is None else data.decode("utf-8", errors="replace")


def lifecycle_findings(directory: Path, spec: ProjectSpec) -> tuple[list[Finding], list[str]]:
    """Lifecycle findings on today's date (SOURCE_DATE_EPOCH honoured), by the rule `new` uses (live.judge).

    Judged: the spec's models and the deployments infra/main.parameters.json actually makes (a hand edit there
    is what `azd up` deploys). A retired model fails the check; retiring, deprecated or unknown versions warn.
    """
    from scaffolder.catalog import live

    deployments = [(d.model, d.version, ANSWERS_FILE) for d in spec.models] + _deployed_models(directory)
    verdict = live.judge(spec.location, deployments, today())
    out = [Finding(f"lifecycle/{j.status.state}", "error", j.where, 0, j.status.message) for j in verdict.retired]
    out += [Finding(f"lifecycle/{j.status.state}", "warning", j.where, 0, j.status.message) for j in verdict.concerns]
    return out, list(verdict.notes)


def _deployed_models(directory: Path) -> list[tuple[str, str, str]]:
    """(model, version, file) of each modelDeployments entry in infra/main.parameters.json.

    None when the file is unreadable: the consistency check reports that.
    """
    rel = "infra/main.parameters.json"
    try:
        values = safeio.load_json(_read(directory / rel, directory))["parameters"]["modelDeployments"]["value"]
        return [(str(d["model"]), str(d["version"]), rel) for d in values
                if isinstance(d, dict) and d.get("model") and d.get("version")]
    except (ValueError, KeyError, TypeError, RecursionError):
        return []


def standards_drift(spec: ProjectSpec, standards: LoadedStandards) -> list[Finding]:
    """Rules of the standards in force that the repo's spec breaks."""
    return [
        Finding(f"standards/{v.rule}", "error", ANSWERS_FILE, 0, f"{v.message} ({v.hint})")
        for v in violations(spec, standards.standards)
    ]


def bicep_build(directory: Path, bicep: str) -> list[Finding]:
    """Compile infra/main.bicep with the real Bicep CLI and turn its diagnostics into findings."""
    main = directory / "infra" / "main.bicep"
    try:
        done = subprocess.run([bicep, "build", str(main), "--stdout"], capture_output=True, text=True,
                              timeout=300, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return [Finding("bicep/build", "error", "infra/main.bicep", 0, f"bicep build could not run: {exc}")]
    out = []
    for row in done.stderr.splitlines():
        m = _BICEP_DIAG.match(row.strip())
        if m is None:
            continue
        rel = Path(m["file"])
        inside = rel.is_absolute() and rel.is_relative_to(directory.resolve())
        shown = rel.relative_to(directory.resolve()).as_posix() if inside else m["file"]
        if m["sev"] == "Error":
            out.append(Finding(f"bicep/{m['code']}", "error", shown, int(m["line"]), m["msg"], int(m["col"])))
    if done.returncode != 0 and not out:
        out.append(Finding("bicep/build", "error", "infra/main.bicep", 0, (done.stderr.strip() or "failed")[-300:]))
    return out
