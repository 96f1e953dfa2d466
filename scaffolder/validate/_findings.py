"""Finding: one problem a validation layer reports, with a stable sort order."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

# error: breaks deployment or security; info: a difference from the generator (the user's choice to keep).
Severity = Literal["error", "warning", "info"]


@dataclass(frozen=True)
class Finding:
    """A problem at file:line[:col]; `rule` names the check ("types/unknown-property", "checkov/CKV_AZURE_236")."""

    rule: str
    severity: Severity
    file: str
    line: int
    message: str
    col: int = 0
    # For differences from the generator: what it would write, what the repo holds, the command that reconciles.
    expected: str = ""
    found: str = ""
    fix: str = ""
    # A difference from the generator `check --accept` can record: a fingerprint of both sides (empty: not acceptable).
    digest: str = ""

    def sort_key(self) -> tuple[str, int, int, str, str]:
        """Order by place, then rule, then text: the same input always lists the same way."""
        return (self.file, self.line, self.col, self.rule, self.message)

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" + (f":{self.col}" if self.col else "")
        text = f"{where}: {self.severity} [{self.rule}] {self.message}"
        details = [("expected", self.expected), ("found", self.found), ("to reconcile", self.fix)]
        return text + "".join(f"\n    {label}: {value}" for label, value in details if value)


def sorted_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Deduplicated and sorted."""
    return sorted(set(findings), key=Finding.sort_key)


def errors(findings: Iterable[Finding]) -> list[Finding]:
    """Only the findings of severity error."""
    return [f for f in findings if f.severity == "error"]
