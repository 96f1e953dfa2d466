"""Catalog freshness audit for maintainers: what retired, what retires within 90 days, what lacks lifecycle data."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from scaffolder import catalog
from scaffolder.catalog import RETIRING_WITHIN_DAYS, STALE_AFTER_DAYS


@dataclass(frozen=True)
class AuditLine:
    """One finding: its section, the model (or source) it is about, and what to do."""

    section: str
    subject: str
    text: str
    attention: bool  # True: a maintainer must act (a failing exit code); False: information


SECTIONS = ("defaults", "retired", "retiring", "no lifecycle", "replacement", "capabilities", "sources")
README = Path(__file__).resolve().parents[2] / "README.md"  # the repo's README (absent from an installed wheel)


def _named_models(readme: Path | None) -> dict[str, str]:
    """Catalog models the tool itself names: its default model, and each one README.md mentions."""
    from scaffolder.spec import DEFAULT_MODEL

    named = {DEFAULT_MODEL: "the default model (spec.DEFAULT_MODEL)"}
    try:
        text = readme.read_text(encoding="utf-8") if readme is not None else ""
    except OSError:
        text = ""
    for name in catalog.models():
        if name not in named and re.search(rf"(?<![\w.-]){re.escape(name)}(?![\w.-])", text):
            named[name] = "named in README.md"
    return named


def _defaults(today: dt.date, readme: Path | None) -> list[AuditLine]:
    """A retiring or retired model the tool defaults to or documents: `new` will soon refuse it."""
    out = []
    for name, why in _named_models(readme).items():
        m = catalog.models().get(name)
        if m is None:
            continue
        status = m.status(m.default_version, today)
        if status.state in ("retiring", "retired"):
            days = f" (in {(status.date - today).days} days)" if status.date and status.date > today else ""
            out.append(AuditLine("defaults", name, f"{why}: {status.message}{days}; `new` refuses it once "
                                 "retired: change the default / README", True))
    return out


def audit(today: dt.date, readme: Path | None = README) -> list[AuditLine]:
    """What a maintainer must look at on `today`.

    Every model version whose retirement passed or falls within RETIRING_WITHIN_DAYS of `today`, models with
    no lifecycle entry or no capability figures, replacements that are not current, and old sources.
    """
    out: list[AuditLine] = _defaults(today, readme)
    for m in catalog.models().values():
        if (m.tool_calling is not None or m.context_window or m.max_output_tokens) and not m.capabilities:
            out.append(AuditLine("capabilities", m.name, "capability figures without a source id (capabilities:)",
                                 True))
        if not m.lifecycle:
            out.append(AuditLine("no lifecycle", m.name, "no lifecycle entry: add stage/retires from the "
                                 "retirement schedule", True))
        for version in m.versions:
            life = m.lifecycle.get(version)
            if life is None:
                if m.lifecycle:
                    out.append(AuditLine("no lifecycle", f"{m.name} {version}", "version has no lifecycle entry", True))
                continue
            status = m.status(version, today)
            if status.state == "retired":
                out.append(AuditLine("retired", f"{m.name} {version}", status.message, False))
            elif status.state == "retiring":
                days = (life.retires - today).days if life.retires else 0
                out.append(AuditLine("retiring", f"{m.name} {version}", f"{status.message} (in {days} days)", True))
            if life.replacement and status.state != "current" and status.replacement is None:
                outside = life.replacement not in catalog.models()
                why = "is not in this catalog" if outside else "leads to no current model"
                out.append(AuditLine("replacement", f"{m.name} {version}", f"replacement {life.replacement} {why}",
                                     not outside))
            if life.deprecated and life.deprecated_source not in catalog.sources():
                out.append(AuditLine("sources", f"{m.name} {version}", "deprecation date without a known "
                                     f"deprecated_source ({life.deprecated_source!r})", True))
            if life.source and life.source not in catalog.sources():
                out.append(AuditLine("sources", f"{m.name} {version}", f"unknown source id {life.source!r}", True))
        if m.kind == "chat" and m.status(m.default_version, today).state != "retired" and (
            m.tool_calling is None or m.context_window is None
        ):
            missing = [n for n, v in (("tool calling", m.tool_calling), ("context window", m.context_window))
                       if v is None]
            out.append(AuditLine("capabilities", m.name, f"{', '.join(missing)} not published in the sources read",
                                 False))
    age = (today - catalog.sources_date()).days
    if age > STALE_AFTER_DAYS:
        out.append(AuditLine("sources", "catalog", f"sources last read {catalog.sources_date()} ({age} days ago): "
                             "re-read them and update sources_date", True))
    for src in catalog.sources().values():
        out.append(AuditLine("sources", src.key, f"ms.date {src.ms_date}: {src.url}", False))
    return out


def render(lines: list[AuditLine], today: dt.date) -> str:
    """Plain text, grouped by section (what a maintainer reads monthly)."""
    parts = [f"model catalog audit on {today} (retiring window {RETIRING_WITHIN_DAYS} days)"]
    for section in SECTIONS:
        found = [line for line in lines if line.section == section]
        parts.append(f"\n{section} ({len(found)}):")
        parts += [f"  {'!' if line.attention else '-'} {line.subject}: {line.text}" for line in found] or ["  none"]
    need = sum(line.attention for line in lines)
    parts.append(f"\n{need} item(s) need a maintainer ('!'); '-' lines are information")
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    """`python -m scaffolder.catalog --audit [--date YYYY-MM-DD]`; exit 1 when an item needs a maintainer."""
    import argparse

    from scaffolder.spec import today as pinned_today

    parser = argparse.ArgumentParser(prog="python -m scaffolder.catalog", description=__doc__)
    parser.add_argument("--audit", action="store_true", help="audit the model catalog (the only action; optional)")
    parser.add_argument("--date", type=dt.date.fromisoformat, default=None,
                        help="audit as of this day (default: today, or SOURCE_DATE_EPOCH)")
    args = parser.parse_args(argv)
    day = args.date or pinned_today()
    lines = audit(day)
    print(render(lines, day))
    return 1 if any(line.attention for line in lines) else 0
