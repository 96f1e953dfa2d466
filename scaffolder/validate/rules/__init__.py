"""The project's own Bicep policies, one module per rule, gathered here: keyless, serialised deployments, RAI.

A rule is a module of this package defining `RULE` (a `Rule`: id, title, checkov twins, check function);
its fixtures are tests/fixtures/bicep/<slug>/ and its checkov twins policies/<slug>*.yaml. Adding a rule is
one module plus its fixtures: the registry below finds it.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable

from scaffolder.validate._findings import Finding, sorted_findings
from scaffolder.validate._project import Project
from scaffolder.validate.rules._base import FileContext, Rule


def _gather() -> tuple[Rule, ...]:
    found = []
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_"):
            found.append(importlib.import_module(f"{__name__}.{info.name}").RULE)
    return tuple(sorted(found, key=lambda r: r.slug))


RULES: tuple[Rule, ...] = _gather()
RULE_BY_SLUG = {r.slug: r for r in RULES}


def check_policies(project: Project, only: Callable[[Rule], bool] | None = None) -> list[Finding]:
    """Every rule (or only the selected ones) over every file of the project that parses."""
    chosen = [r for r in RULES if only is None or only(r)]
    out: list[Finding] = []
    for file in list(project.files.values()):
        if file.root.has_error:
            continue
        ctx = FileContext(project, file)
        for rule in chosen:
            out += [Finding(f"policy/{rule.slug}", "error", file.name, line, msg, col)
                    for (line, col), msg in rule.check(ctx)]
    return sorted_findings(out)


__all__ = ["RULES", "RULE_BY_SLUG", "FileContext", "Rule", "check_policies"]
