"""Fixtures for provisioning tests: a started ARM emulator, a fake credential and a repo directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scaffolder.provisioning.engine import RetryPolicy
from scaffolder.spec import ProjectSpec
from tests.emulator import ArmEmulator, FakeCredential
from tests.helpers import make_spec
from tests.provision.provkit import ENV, RG, Sleeps, offer_models, write_repo


@pytest.fixture
def arm(tmp_path: Path) -> Iterator[ArmEmulator]:
    emulator = ArmEmulator().start(tmp_path)
    emulator.directory.add(FakeCredential().object_id)  # the signed-in developer exists in the directory
    yield emulator
    emulator.stop()


@pytest.fixture
def spec() -> ProjectSpec:
    return make_spec("agents", hosting="none", models=["gpt-5.4-mini", "gpt-5.4"], capacity=20)


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
