"""Run checkov (and its pinned Bicep parser, pycep-parser) from checkov's own virtual environment.

checkov pins pycep-parser 0.5.1 and clashes with our dependencies, so it lives in a venv of its own and runs
as a subprocess: one template per call (checkov resolves names across the files of one run, unreliably),
its own custom policies from policies/, and a hard failure when it could not parse a file, because checkov
itself skips such a file silently and exits 0.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from scaffolder.errors import ToolError
from scaffolder.validate._findings import Finding

CHECKOV_VERSION = "3.3.30"
PYCEP_VERSION = "0.5.1"
POLICIES_DIR = Path(__file__).resolve().parent / "policies"
PROBE = Path(__file__).resolve().parent / "_pycep_probe.py"
VENV_ENV = "SCAFFOLDER_CHECKOV_VENV"
TIMEOUT_S = 600



def venv_bin(venv: Path, name: str) -> Path:
    """An executable inside a virtual environment (POSIX or Windows layout)."""
    posix = venv / "bin" / name
    return posix if posix.exists() or sys.platform != "win32" else venv / "Scripts" / f"{name}.exe"


def find_checkov_venv(*candidates: Path) -> Path | None:
    """The first usable checkov venv: $SCAFFOLDER_CHECKOV_VENV, then the candidates in order."""
    env = os.environ.get(VENV_ENV)
    for path in ([Path(env)] if env else []) + list(candidates):
        if venv_bin(path, "checkov").exists() and venv_bin(path, "python").exists():
            return path
    return None


def install_checkov_venv(path: Path, python: str = sys.executable) -> Path:
    """Create a venv at path holding checkov (pinned); returns path. Slow: pip install from the index."""
    try:
        subprocess.run([python, "-m", "venv", str(path)], check=True, capture_output=True, timeout=TIMEOUT_S)
        pip = [str(venv_bin(path, "python")), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        subprocess.run([*pip, f"checkov=={CHECKOV_VERSION}"], check=True, capture_output=True, timeout=TIMEOUT_S)
    except (OSError, subprocess.SubprocessError) as exc:
        detail = exc.stderr.decode(errors="replace")[-400:] if isinstance(exc, subprocess.CalledProcessError) else ""
        raise ToolError(
            f"could not install checkov {CHECKOV_VERSION} into {path}: {exc} {detail}".strip(),
            hint=f"create it by hand: python -m venv {path} && {path}/bin/pip install checkov=={CHECKOV_VERSION}",
        ) from exc
    return path


Verdict = Literal["passed", "failed", "skipped"]
_VERDICTS: tuple[tuple[str, Verdict], ...] = (
    ("passed_checks", "passed"), ("failed_checks", "failed"), ("skipped_checks", "skipped"),
)


@dataclass(frozen=True)
class CheckRecord:
    """One checkov result for one resource."""

    check_id: str
    name: str
    result: Verdict
    resource: str
    line: int
    suppress_comment: str = ""


@dataclass(frozen=True)
class CheckovReport:
    """checkov's verdict on one template."""

    file: str
    sha256: str
    parsing_errors: int
    resource_count: int
    version: str
    records: tuple[CheckRecord, ...]

    def failed(self) -> list[CheckRecord]:
        """The failed checks."""
        return [r for r in self.records if r.result == "failed"]

    def findings(self) -> list[Finding]:
        """Failed checks and parse failures as findings."""
        out = [
            Finding(f"checkov/{r.check_id}", "error", self.file, r.line, f"{r.name} ({r.resource})")
            for r in self.failed()
        ]
        if self.parsing_errors:
            out.append(Finding("checkov/parsing-error", "error", self.file, 1,
                               f"checkov could not parse the file (pycep-parser {PYCEP_VERSION}) "
                               "and would skip every check on it"))
        return out


@dataclass(frozen=True)
class PycepResult:
    """Whether pycep-parser (checkov's parser) reads one file."""

    file: str
    ok: bool
    line: int
    col: int
    error: str

    def findings(self) -> list[Finding]:
        """A parse failure as a finding."""
        if self.ok:
            return []
        return [Finding("syntax/pycep", "error", self.file, max(self.line, 1),
                        f"pycep-parser {PYCEP_VERSION} (checkov's Bicep parser) cannot parse it: {self.error}",
                        self.col)]


def _sha(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


class Checkov:
    """checkov and pycep from a venv, with results cached by file content (identical files scan once)."""

    def __init__(self, venv: Path, *, policies: Path | None = POLICIES_DIR, jobs: int | None = None,
                 on_file: Callable[[str, int, int], None] | None = None) -> None:
        self.venv = venv
        # Called as each scan finishes (file, done, total): checkov takes seconds per file, a terminal shows it.
        self.on_file = on_file
        self.policies = policies
        self.jobs = jobs or max(os.cpu_count() or 1, 1)
        self._reports: dict[str, CheckovReport] = {}
        self._pycep: dict[str, PycepResult] = {}
        self.pycep_version = ""
        self.runs = 0

    @property
    def executable(self) -> Path:
        """The checkov command."""
        return venv_bin(self.venv, "checkov")

    def _run(self, name: str, content: bytes) -> CheckovReport:
        with tempfile.TemporaryDirectory(prefix="scaffolder-checkov-") as tmp:
            target = Path(tmp) / "template"
            target.mkdir()
            (target / Path(name).name).write_bytes(content)
            cmd = [str(self.executable), "-d", str(target), "--framework", "bicep", "-o", "json", "--skip-download"]
            if self.policies is not None:
                cmd += ["--external-checks-dir", str(self.policies)]
            # we run several checkovs side by side already; its own worker pool would only oversubscribe
            env = {**os.environ, "CHECKOV_PARALLELIZATION_TYPE": "none"}
            try:
                proc = subprocess.run(cmd, capture_output=True, cwd=tmp, env=env, timeout=TIMEOUT_S, check=False)
            except (OSError, subprocess.SubprocessError) as exc:
                raise ToolError(f"checkov failed to run on {name}: {exc}") from exc
            self.runs += 1
            if proc.returncode not in (0, 1):
                tail = proc.stderr.decode(errors="replace")[-600:]
                raise ToolError(f"checkov exited {proc.returncode} on {name}: {tail}")
            try:
                data = json.loads(proc.stdout)
            except ValueError as exc:
                raise ToolError(f"checkov printed no JSON for {name}: {proc.stdout[:300]!r}") from exc
        return _report(name, _sha(content), data)

    def scan(self, files: Sequence[tuple[str, bytes]]) -> list[CheckovReport]:
        """Scan each (display name, content) alone, in parallel; identical contents are scanned once."""
        todo: dict[str, tuple[str, bytes]] = {}
        for name, content in files:
            digest = _sha(content)
            if digest not in self._reports:
                todo.setdefault(digest, (name, content))
        if todo:
            with ThreadPoolExecutor(max_workers=self.jobs) as pool:
                futures = [pool.submit(self._run, *item) for item in todo.values()]
                for done, future in enumerate(as_completed(futures), 1):
                    report = future.result()
                    self._reports[report.sha256] = report
                    if self.on_file is not None:
                        self.on_file(report.file, done, len(futures))
        out = []
        for name, content in files:
            cached = self._reports[_sha(content)]
            out.append(CheckovReport(name, cached.sha256, cached.parsing_errors, cached.resource_count,
                                     cached.version, cached.records))
        return out

    def parse(self, files: Sequence[tuple[str, bytes]]) -> list[PycepResult]:
        """Parse each file with the venv's pycep-parser (one process for all of them)."""
        todo: dict[str, tuple[str, bytes]] = {}
        for name, content in files:
            digest = _sha(content)
            if digest not in self._pycep:
                todo.setdefault(digest, (name, content))
        if todo:
            with tempfile.TemporaryDirectory(prefix="scaffolder-pycep-") as tmp:
                paths = []
                for i, (digest, (name, content)) in enumerate(todo.items()):
                    path = Path(tmp) / f"{i}-{Path(name).name}"
                    path.write_bytes(content)
                    paths.append((digest, path))
                cmd = [str(venv_bin(self.venv, "python")), str(PROBE), *(str(p) for _, p in paths)]
                try:
                    proc = subprocess.run(cmd, capture_output=True, timeout=TIMEOUT_S, check=True)
                    data = json.loads(proc.stdout)
                except (OSError, subprocess.SubprocessError, ValueError) as exc:
                    raise ToolError(f"pycep-parser failed to run: {exc}") from exc
            self.pycep_version = str(data.get("version", ""))
            for (digest, _path), raw in zip(paths, data["results"], strict=True):
                self._pycep[digest] = PycepResult("", bool(raw["ok"]), int(raw["line"]), int(raw["col"]),
                                                  str(raw["error"]))
        out = []
        for name, content in files:
            r = self._pycep[_sha(content)]
            out.append(PycepResult(name, r.ok, r.line, r.col, r.error))
        return out


def _report(name: str, digest: str, data: Any) -> CheckovReport:
    # checkov prints one report object, a list of them (one per framework), or a bare summary when no check
    # applied to anything in the file
    reports = data if isinstance(data, list) else [data]
    records: list[CheckRecord] = []
    parsing_errors = resource_count = 0
    version = ""
    for rep in reports:
        if not isinstance(rep, dict):
            continue
        if rep.get("check_type", "bicep") != "bicep":
            continue
        summary = rep.get("summary", rep)
        parsing_errors += int(summary.get("parsing_errors", 0))
        resource_count += int(summary.get("resource_count", 0))
        version = str(summary.get("checkov_version", version))
        results = rep.get("results", {})
        for key, verdict in _VERDICTS:
            for r in results.get(key, []):
                line_range = r.get("file_line_range") or [1, 1]
                suppress = r.get("check_result", {}).get("suppress_comment", "") or ""
                records.append(CheckRecord(str(r["check_id"]), str(r.get("check_name", "")), verdict,
                                           str(r.get("resource", "")), int(line_range[0]), str(suppress)))
    records.sort(key=lambda r: (r.line, r.check_id, r.resource, r.result))
    return CheckovReport(name, digest, parsing_errors, resource_count, version, tuple(records))
