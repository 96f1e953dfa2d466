"""validate's public surface: a pinned `__all__`, and no module outside the package imports a private one."""

from __future__ import annotations

import ast
from pathlib import Path

import scaffolder.validate as validate

SCAFFOLDER = Path(validate.__file__).resolve().parents[1]

# What callers use: the layers and checkov runner (check, tests), the concrete evaluator (provisioning) and the
# Bicep model (check's drift comparison). A new name here is a decision, not a side effect of an import.
PUBLIC = {
    "CHECKOV_VERSION", "DECL_NODES", "POLICIES_DIR", "PYCEP_VERSION", "RULES", "RULE_BY_SLUG", "TRIVIA",
    "BicepTypes", "Checkov", "Deferred", "Finding", "InvalidParameter", "InvalidTemplate", "Runtime", "Scope",
    "SdkModels", "UnsupportedBicep", "check_policies", "check_rendered_types", "check_semantics", "check_syntax",
    "check_types", "evaluate", "find_checkov_venv", "install_checkov_venv", "load_bicep", "load_project",
    "node_text", "parse_bicep", "render", "resource_id", "sorted_findings", "validate_repo",
}


def test_the_public_surface_is_pinned_and_resolves() -> None:
    assert set(validate.__all__) == PUBLIC
    for name in validate.__all__:
        assert getattr(validate, name) is not None, name
    # No second name for one thing, and no re-exported error class from elsewhere.
    assert not {"POLICIES", "POLICY_BY_SLUG", "Policy", "ToolError"} & set(validate.__all__)


def _private_imports(path: Path) -> list[str]:
    """`scaffolder.validate._x` (or a private name from scaffolder.validate) imported by path, as `line: module`."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        modules: list[str] = []
        if isinstance(node, ast.Import):
            modules = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules = [f"{node.module}.{a.name}" for a in node.names]
        for module in modules:
            parts = module.split(".")
            if parts[:2] == ["scaffolder", "validate"] and any(p.startswith("_") for p in parts[2:]):
                found.append(f"{node.lineno}: {module}")
    return found


def test_no_module_outside_validate_imports_a_private_validate_module() -> None:
    outside = [p for p in SCAFFOLDER.rglob("*.py") if p.relative_to(SCAFFOLDER).parts[0] != "validate"]
    assert {"cli.py", "checks.py", "plan.py"} <= {p.name for p in outside}
    assert {str(p.relative_to(SCAFFOLDER)): _private_imports(p) for p in outside if _private_imports(p)} == {}


def test_the_scan_finds_each_form_of_private_import(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(
        "from scaffolder.validate._deploy import evaluate\n"
        "from scaffolder.validate import _model\n"
        "import scaffolder.validate._eval\n"
        "from scaffolder.validate import evaluate, rules\n"
        "from scaffolder.validate.bicepfn import guid\n",
        encoding="utf-8",
    )
    assert _private_imports(probe) == [
        "1: scaffolder.validate._deploy.evaluate", "2: scaffolder.validate._model", "3: scaffolder.validate._eval"
    ]
