"""Shared pieces of the provisioning tests (a module of its own: `conftest` names clash across test folders)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from scaffolder import __version__
from scaffolder.generate import plan_files
from scaffolder.provisioning.api import ArmOptions, DestroyResult, PreflightResult, Provisioner, ProvisionResult
from scaffolder.spec import ANSWERS_FILE, ProjectSpec
from tests.emulator import ArmEmulator, Offer

RG = "rg-demo"
ENV = "dev"


class Sleeps:
    """Records requested back-off pauses instead of sleeping (tests stay fast, delays stay checkable)."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def offer_models(arm: ArmEmulator, spec: ProjectSpec, location: str | None = None) -> None:
    for dep in spec.models:
        arm.offer(location or spec.location, Offer(dep.model, dep.version, dep.format, (dep.sku, "Standard")))


def write_repo(path: Path, spec: ProjectSpec) -> Path:
    """The generated repo's answers file, azure.yaml and infra/ (what provisioning reads), as `scaffolder new` does."""
    path.mkdir(parents=True, exist_ok=True)
    (path / ANSWERS_FILE).write_text(spec.to_answers(__version__), encoding="utf-8")
    for item in plan_files(spec).files:
        if str(item.path).startswith("infra/") or str(item.path) == "azure.yaml":
            target = path / item.path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(item.content)
    return path


_OPTIONS = {f.name for f in dataclasses.fields(ArmOptions)}


def provisioner(repo: Path, kw: dict[str, Any]) -> tuple[Provisioner, dict[str, Any]]:
    """The library's one surface for a test's keywords: ArmOptions from the ARM options, the rest for the call."""
    options = ArmOptions(**{k: v for k, v in kw.items() if k in _OPTIONS})
    return Provisioner(repo, options), {k: v for k, v in kw.items() if k not in _OPTIONS}


def provision(repo: Path, *, preview: bool = False, **kw: Any) -> ProvisionResult:
    """`Provisioner.plan` (preview) or `.apply`, as `scaffolder provision [--preview]` calls them."""
    prov, rest = provisioner(repo, kw)
    return prov.plan(**rest) if preview else prov.apply(**rest)


def preflight(repo: Path, **kw: Any) -> PreflightResult:
    """`Provisioner.preflight`."""
    prov, rest = provisioner(repo, kw)
    return prov.preflight(**rest)


def destroy(repo: Path, **kw: Any) -> DestroyResult:
    """`Provisioner.destroy`."""
    prov, rest = provisioner(repo, kw)
    return prov.destroy(**rest)
