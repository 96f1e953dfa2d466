"""Syntax gate: tree-sitter-bicep must produce a tree without ERROR or MISSING nodes."""

from __future__ import annotations

import tree_sitter as ts

from scaffolder.validate._findings import Finding, sorted_findings
from scaffolder.validate._model import BicepFile, text
from scaffolder.validate._project import Project

MAX_PER_FILE = 20


def _problems(node: ts.Node, out: list[ts.Node]) -> None:
    if len(out) >= MAX_PER_FILE:
        return
    if node.is_error or node.is_missing:
        out.append(node)
        return
    if node.has_error:
        for child in node.children:
            _problems(child, out)


def syntax_findings(file: BicepFile) -> list[Finding]:
    """Every ERROR/MISSING node of one file, with line:col."""
    nodes: list[ts.Node] = []
    _problems(file.root, nodes)
    out = []
    for node in nodes:
        line, col = node.start_point.row + 1, node.start_point.column + 1
        if node.is_missing:
            message = f"missing {node.type!r}"
        else:
            snippet = " ".join(text(node).split())
            message = f"cannot parse {snippet[:60]!r}" if snippet else "cannot parse here"
        out.append(Finding("syntax/tree-sitter", "error", file.name, line, message, col))
    return out


def check_syntax(project: Project) -> list[Finding]:
    """tree-sitter syntax findings over every file of the project."""
    out: list[Finding] = []
    for file in list(project.files.values()):
        out.extend(syntax_findings(file))
    return sorted_findings(out)
