"""Fixtures for provisioning tests: a started ARM emulator, a fake credential and a repo directory."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from emulator import ArmEmulator, FakeCredential, Offer
from helpers import make_spec

from scaffolder import __version__
from scaffolder.provisioning.engine import RetryPolicy
from scaffolder.spec import ANSWERS_FILE, ProjectSpec

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
    path.mkdir(parents=True, exist_ok=True)
    (path / ANSWERS_FILE).write_text(spec.to_answers(__version__), encoding="utf-8")
    return path


@pytest.fixture
def arm(tmp_path: Path) -> Iterator[ArmEmulator]:
    emulator = ArmEmulator().start(tmp_path)
    emulator.directory.add(FakeCredential().object_id)  # the signed-in developer exists in the directory
    yield emulator
    emulator.stop()


@pytest.fixture
def spec() -> ProjectSpec:
    return make_spec("agents", models=["gpt-5.4-mini", "gpt-5.4"], capacity=20)


@pytest.fixture
def repo(tmp_path: Path, spec: ProjectSpec, arm: ArmEmulator) -> Path:
    offer_models(arm, spec)
    return write_repo(tmp_path / "repo", spec)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def kw(arm: ArmEmulator, sleeps: Sleeps) -> dict[str, Any]:
    """Keyword arguments that point the library at the emulator."""
    return {
        "subscription_id": arm.subscription_id,
        "resource_group": RG,
        "environment": ENV,
        "credential": FakeCredential(),
        "arm_endpoint": arm.url,
        "connection_verify": arm.ca_path,
        "polling_interval": 0,
        "retry": RetryPolicy(attempts=4, base_delay=0.0, sleep=sleeps),
    }
