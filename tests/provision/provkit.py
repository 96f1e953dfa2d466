"""Shared pieces of the provisioning tests (a module of its own: `conftest` names clash across test folders)."""

from __future__ import annotations

from pathlib import Path

from scaffolder import __version__
from scaffolder.generate import plan_files
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
    """The generated repo's answers file and infra/ (what provisioning reads), as `scaffolder new` writes them."""
    path.mkdir(parents=True, exist_ok=True)
    (path / ANSWERS_FILE).write_text(spec.to_answers(__version__), encoding="utf-8")
    for item in plan_files(spec).files:
        if str(item.path).startswith("infra/"):
            target = path / item.path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(item.content)
    return path
