"""foundry-scaffolder: choose a Microsoft Foundry runtime and generate a keyless starter repo.

The public API is small: `resolve_spec` (flags/prompts -> ProjectSpec), `new` (plan and write a
repo), `plan_files` (the pure file plan), `load_answers` (read a generated repo's spec),
`recommend` (answers -> runtime), `update` (re-apply the generator to a repo: three-way merge, runtime
switch), `check` (validate a generated repo), `Provisioner` with `ArmOptions` (preflight, plan, apply and
destroy against Azure), and the error classes in `scaffolder.errors`; team standards live in
`scaffolder.standards`. Attributes load lazily so that `scaffolder --help` stays fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.2.0"

_LAZY = {
    "ProjectSpec": "scaffolder.spec",
    "ModelDeployment": "scaffolder.spec",
    "build_spec": "scaffolder.spec",
    "load_answers": "scaffolder.spec",
    "Runtime": "scaffolder.catalog",
    "resolve_spec": "scaffolder._new",
    "new": "scaffolder._new",
    "NewResult": "scaffolder._new",
    "plan_files": "scaffolder.generate",
    "ScaffolderError": "scaffolder.errors",
    "Provisioner": "scaffolder.provisioning.api",
    "ArmOptions": "scaffolder.provisioning.api",
    "check": "scaffolder.checks",
    "CheckResult": "scaffolder.checks",
    "recommend": "scaffolder.decision",
    "update": "scaffolder._update",
    "UpdateResult": "scaffolder._update",
    "Recommendation": "scaffolder.decision",
}

__all__ = [
    "ArmOptions",
    "CheckResult",
    "ModelDeployment",
    "NewResult",
    "ProjectSpec",
    "Provisioner",
    "Recommendation",
    "Runtime",
    "ScaffolderError",
    "UpdateResult",
    "__version__",
    "build_spec",
    "check",
    "load_answers",
    "new",
    "plan_files",
    "recommend",
    "resolve_spec",
    "update",
]

if TYPE_CHECKING:
    from scaffolder._new import NewResult, new, resolve_spec
    from scaffolder._update import UpdateResult, update
    from scaffolder.catalog import Runtime
    from scaffolder.checks import CheckResult, check
    from scaffolder.decision import Recommendation, recommend
    from scaffolder.errors import ScaffolderError
    from scaffolder.generate import plan_files
    from scaffolder.provisioning.api import ArmOptions, Provisioner
    from scaffolder.spec import ModelDeployment, ProjectSpec, build_spec, load_answers


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'scaffolder' has no attribute {name!r}")
