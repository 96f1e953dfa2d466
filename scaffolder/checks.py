"""`check`: validate a generated repo for CI — Bicep, security, schema, consistency, standards, model lifecycle."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scaffolder import catalog, infra
from scaffolder.errors import ToolError
from scaffolder.spec import ANSWERS_FILE, ProjectSpec, load_answers, today
from scaffolder.standards import LoadedStandards, violations
from scaffolder.validate import Checkov
from scaffolder.validate._findings import Finding, sorted_findings

# Files the generator owns: they must match a re-generation from the answers file.
OWNED = ("infra/", "azure.yaml", ".env.example", ANSWERS_FILE)
# bicep build diagnostics: "<file>(<line>,<col>) : Error BCP037: <message>"
_BICEP_DIAG = re.compile(
    r"^(?P<file>.+?)\((?P<line>\d+),(?P<col>\d+)\) : (?P<sev>Error|Warning) (?P<code>\w+): (?P<msg>.*)$"
)


@dataclass(frozen=True)
class CheckResult:
    """Findings (any one fails the check) and notes (what was skipped and why)."""

    directory: Path
    findings: tuple[Finding, ...]
    notes: tuple[str, ...] = ()
    layers: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        """True when nothing was found."""
        return not self.findings

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "directory": str(self.directory),
            "ok": self.ok,
            "layers": list(self.layers),
            "findings": [
                {"rule": f.rule, "severity": f.severity, "file": f.file, "line": f.line, "message": f.message}
                for f in self.findings
            ],
            "notes": list(self.notes),
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
) -> CheckResult:
    """Run every check on a generated repo; never raises for findings (the caller decides the exit code).

    `checkov` is a venv holding checkov and `bicep` a Bicep CLI (defaults: found as `locate_checkov` and
    PATH say); `offline_only` skips both external tools.
    """
    spec, _version = load_answers(directory)
    findings: list[Finding] = []
    notes: list[str] = []
    layers = ["answers", "drift", "consistency", "lifecycle"]
    overlays = standards.overlay_dirs() if standards else []
    findings += drift(directory, spec, overlays)
    findings += consistency(directory, spec)
    findings += lifecycle(spec)
    if standards is not None:
        layers.append("standards")
        findings += standards_drift(spec, standards)
        if spec.standards and spec.standards.sha256 != standards.sha256:
            notes.append(f"the standards file changed since generation ({standards.source})")
    else:
        notes.append("no standards file in force (--standards, $SCAFFOLDER_STANDARDS or the user config)")
    from scaffolder.validate import validate_repo

    venv = None if offline_only else (checkov if isinstance(checkov, Checkov) else locate_checkov(checkov))
    if venv is None:
        notes.append("checkov not found: its security checks were skipped (`scaffolder check --install-checkov`)")
    layers += ["syntax", "semantics", "policies", "types"] + (["checkov"] if venv else [])
    findings += validate_repo(directory, checkov=venv)
    bicep_exe = None if offline_only else (bicep or shutil.which("bicep"))
    if bicep_exe:
        layers.append("bicep build")
        findings += bicep_build(directory, bicep_exe)
    else:
        notes.append("no Bicep CLI on PATH: `bicep build` skipped (offline checks ran)")
    return CheckResult(directory, tuple(sorted_findings(findings)), tuple(notes), tuple(layers))


def drift(directory: Path, spec: ProjectSpec, overlays: list[Path]) -> list[Finding]:
    """Generator-owned files that differ from (or are missing against) a re-generation from the answers."""
    from scaffolder.generate import plan_files

    plan = plan_files(spec, overlays)
    out = []
    for f in plan.files:
        path = str(f.path)
        if not (path.startswith(OWNED[0]) or path in OWNED[1:]) or path == ANSWERS_FILE:
            continue
        on_disk = directory / path
        if not on_disk.is_file():
            out.append(Finding("drift/missing", "error", path, 0, "generated file is missing"))
        elif on_disk.read_bytes() != f.content:
            line = _first_difference(on_disk.read_bytes(), f.content)
            out.append(Finding("drift/changed", "error", path, line,
                               "differs from what the answers file generates; edit the spec and re-generate"))
    planned = {str(f.path) for f in plan.files}
    for extra in sorted(p for p in (directory / "infra").rglob("*.bicep") if p.is_file()):
        rel = extra.relative_to(directory).as_posix()
        if rel not in planned:
            out.append(Finding("drift/extra", "error", rel, 0, "Bicep file not produced by the generator"))
    return out


def _first_difference(a: bytes, b: bytes) -> int:
    for i, (x, y) in enumerate(zip(a.splitlines(), b.splitlines(), strict=False), 1):
        if x != y:
            return i
    return min(len(a.splitlines()), len(b.splitlines())) + 1


def consistency(directory: Path, spec: ProjectSpec) -> list[Finding]:
    """Spec, Bicep outputs, .env.example and the app settings name the same variables."""
    out = []
    wanted = [v.name for v in infra.app_env(spec)]
    main = directory / "infra" / "main.bicep"
    if main.is_file():
        outputs = set(re.findall(r"^output (\w+) ", _read(main), flags=re.MULTILINE))
        for name in wanted:
            if name not in outputs:
                out.append(Finding("consistency/output", "error", "infra/main.bicep", 0,
                                   f"{name} is read by the app but is not a Bicep output"))
    example = directory / ".env.example"
    if example.is_file():
        listed = re.findall(r"^([A-Z][A-Z0-9_]*)=", _read(example), flags=re.MULTILINE)
        for name in sorted(set(wanted) - set(listed)):
            out.append(Finding("consistency/env-example", "error", ".env.example", 0, f"{name} is not listed"))
    settings = directory / "src" / spec.package / "settings.py"
    if settings.is_file():
        text = _read(settings)
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
            values = json.loads(_read(params))["parameters"]
            deployed = [d.get("name") for d in values.get("modelDeployments", {}).get("value", [])]
        except (ValueError, KeyError, TypeError, AttributeError):
            out.append(Finding("consistency/parameters", "error", "infra/main.parameters.json", 0,
                               "not a valid ARM parameters file"))
        else:
            if deployed != [m.name for m in spec.models]:
                out.append(Finding("consistency/parameters", "error", "infra/main.parameters.json", 0,
                                   f"model deployments {deployed} differ from the spec's"))
    return out


def _read(path: Path) -> str:
    # A hand-damaged file is a finding elsewhere (drift); reading it must not crash the check.
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def lifecycle(spec: ProjectSpec) -> list[Finding]:
    """Model versions retired, retiring or deprecated on today's date, per the catalog."""
    out = []
    for dep in spec.models:
        known = catalog.models().get(dep.model)
        if known is None:
            continue
        status = known.status(dep.version, today())
        if status.state != "current":
            out.append(Finding(f"lifecycle/{status.state}", "error", ANSWERS_FILE, 0, status.message))
    return out


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
