"""Offline validation of a generated repo's Bicep, in layers, since no Bicep compiler runs here.

1. syntax: tree-sitter-bicep (no ERROR/MISSING node) and pycep-parser as pinned by checkov;
2. semantics the compiler checks: symbols, module params/outputs, duplicates, parameters file, constants;
3. policies: the project's own rules (also shipped as checkov YAML policies where checkov can express them);
4. types: resource bodies against bicep-types `types.json` or the azure-mgmt-cognitiveservices models,
   statically and "rendered" with main.parameters.json substituted;
5. security: checkov (`--framework bicep`, one template per run, our policies added).

`validate_repo(path)` runs them all and returns sorted findings (tree-sitter-bicep is a core dependency).
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from scaffolder.validate._checkov import (
    CHECKOV_VERSION,
    POLICIES_DIR,
    PYCEP_VERSION,
    Checkov,
    find_checkov_venv,
    install_checkov_venv,
)
from scaffolder.validate._deploy import (
    Deferred,
    InvalidParameter,
    InvalidTemplate,
    Runtime,
    Scope,
    UnsupportedBicep,
    evaluate,
    resource_id,
)
from scaffolder.validate._findings import Finding, sorted_findings
from scaffolder.validate._model import DECL_NODES, TRIVIA
from scaffolder.validate._model import load as load_bicep
from scaffolder.validate._model import parse_bytes as parse_bicep
from scaffolder.validate._model import text as node_text
from scaffolder.validate._project import Project, load_project
from scaffolder.validate._schema import Backend, BicepTypes, SdkModels
from scaffolder.validate._semantics import check_semantics
from scaffolder.validate._syntax import check_syntax
from scaffolder.validate._typecheck import check_rendered_types, check_types, render
from scaffolder.validate.rules import RULE_BY_SLUG, RULES, check_policies

# What callers outside this package use (tests/validate/test_public_surface.py pins it): the layers, the
# checkov runner, the concrete evaluator `provision` plans from, and the Bicep model `check` compares with.
__all__ = [
    "CHECKOV_VERSION",
    "DECL_NODES",
    "POLICIES_DIR",
    "PYCEP_VERSION",
    "RULES",
    "RULE_BY_SLUG",
    "TRIVIA",
    "BicepTypes",
    "Checkov",
    "Deferred",
    "Finding",
    "InvalidParameter",
    "InvalidTemplate",
    "Runtime",
    "Scope",
    "SdkModels",
    "UnsupportedBicep",
    "check_policies",
    "check_rendered_types",
    "check_semantics",
    "check_syntax",
    "check_types",
    "evaluate",
    "find_checkov_venv",
    "install_checkov_venv",
    "load_bicep",
    "load_project",
    "node_text",
    "parse_bicep",
    "render",
    "resource_id",
    "sorted_findings",
    "validate_repo",
]


# checkov's naming-rule checks read the name as written: a name built from an expression ('st${uniqueString(...)}')
# fails them whatever it evaluates to. Such a finding is information, not a failure.
CHECKOV_NAME_RULES = frozenset({"CKV_AZURE_43"})  # "Ensure Storage Accounts adhere to the naming rules"
_NAME_LINE = re.compile(r"^\s*name:\s*(?P<value>.+?)\s*(//.*)?$")
_LITERAL = re.compile(r"^'(?:[^'$\\]|\\.|\$(?!\{))*'$")


def check_checkov(project: Project, checkov: Checkov) -> list[Finding]:
    """pycep-parser must read every file, and checkov (our policies included) must pass on each alone."""
    files = [(f.name, f.source) for f in project.files.values()]
    sources = dict(files)
    out = [f for r in checkov.parse(files) for f in r.findings()]
    for finding in (f for r in checkov.scan(files) for f in r.findings()):
        name = _expression_name(sources.get(finding.file, b""), finding.line)
        if finding.rule.removeprefix("checkov/") in CHECKOV_NAME_RULES and name is not None:
            finding = replace(finding, severity="info", message=f"{finding.message}: the name {name} is built from "
                              "an expression checkov cannot evaluate, so its naming rule is not applied")
        out.append(finding)
    return sorted_findings(out)


def _expression_name(source: bytes, line: int) -> str | None:
    """The `name:` of the resource declared at line when it is an expression (None for a plain string)."""
    lines = source.decode("utf-8", errors="replace").splitlines()
    for text in lines[max(line - 1, 0):]:
        m = _NAME_LINE.match(text)
        if m:
            value = m["value"]
            return None if _LITERAL.match(value) else value
    return None


def validate_repo(
    path: Path,
    *,
    types_dir: Path | None = None,
    checkov: Checkov | Path | None = None,
    rendered: bool = True,
) -> list[Finding]:
    """Every layer over a generated repo (or its infra folder); sorted, deduplicated findings.

    types_dir: bicep-types data (`<provider>/<api-version>/types.json`); without it the azure-mgmt-
    cognitiveservices models check the Microsoft.CognitiveServices resources. checkov: a Checkov runner or
    the path of a venv holding checkov; without it the checkov layer is skipped.
    """
    project = load_project(path)
    refused = [Finding("input/refused", "error", shown, 1, f"{shown} {why}") for shown, why in project.refused.values()]
    if not project.files:
        shown = project.display(project.infra)
        return refused or [Finding("project/no-bicep", "error", shown, 1, "no Bicep files found")]
    backend: Backend = BicepTypes(types_dir) if types_dir is not None else SdkModels()
    findings = check_syntax(project)
    findings += check_semantics(project)
    findings += check_policies(project)
    findings += check_types(project, backend)
    if rendered:
        findings += check_rendered_types(project, backend)
    if checkov is not None:
        runner = checkov if isinstance(checkov, Checkov) else Checkov(checkov)
        findings += check_checkov(project, runner)
    # Module links are admitted (or refused) lazily by the layers above, so collect refusals last.
    refused = [Finding("input/refused", "error", shown, 1, f"{shown} {why}") for shown, why in project.refused.values()]
    return sorted_findings(findings + refused)
