"""Typed, cached loaders over the catalog data files (models, roles, runtimes, regions, env vars)."""

from __future__ import annotations

import datetime as dt
import difflib
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict


class Runtime(StrEnum):
    """The three Foundry runtimes a generated repo can be built on."""

    RESPONSES = "responses"
    AGENTS = "agents"
    INFERENCE = "inference"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Lifecycle(_Frozen):
    """Published lifecycle dates of one model version (ISO dates)."""

    deprecated: dt.date | None = None
    retires: dt.date | None = None
    not_before: dt.date | None = None
    replacement: str | None = None


RETIRING_WITHIN_DAYS = 90


@dataclass(frozen=True)
class LifecycleStatus:
    """Where a model version stands on a given day."""

    state: Literal["current", "retiring", "deprecated", "retired", "unknown"]
    message: str


class CatalogModel(_Frozen):
    """One deployable model: its publisher format, versions, SKUs and the runtimes that serve it."""

    name: str
    format: str
    kind: Literal["chat", "embeddings"]
    default_version: str
    versions: tuple[str, ...]
    skus: tuple[str, ...]
    default_capacity: int
    runtimes: tuple[Runtime, ...]
    note: str | None = None
    lifecycle: dict[str, Lifecycle] = {}

    @property
    def default_sku(self) -> str:
        """The first listed SKU is the default."""
        return self.skus[0]

    def status(self, version: str, today: dt.date) -> LifecycleStatus:
        """Retired, retiring (within RETIRING_WITHIN_DAYS), deprecated (no new customers) or current."""
        life = self.lifecycle.get(version)
        label = f"{self.name} {version}"
        if life is None:
            return LifecycleStatus("current", f"{label}: no retirement published in the catalog")
        instead = f"; replacement: {life.replacement}" if life.replacement else ""
        if life.retires and life.retires <= today:
            return LifecycleStatus("retired", f"{label} retired on {life.retires}{instead}")
        if life.retires and (life.retires - today).days <= RETIRING_WITHIN_DAYS:
            return LifecycleStatus("retiring", f"{label} retires on {life.retires}{instead}")
        if life.deprecated and life.deprecated <= today:
            until = f", retires {life.retires}" if life.retires else ""
            return LifecycleStatus(
                "deprecated", f"{label} is deprecated since {life.deprecated} (no new customers{until}){instead}"
            )
        return LifecycleStatus("current", f"{label}: retires no earlier than {life.retires or life.not_before}")


class Role(_Frozen):
    """A built-in Azure role, keyed by its definition GUID."""

    key: str
    id: str
    name: str
    grants: str
    formerly: str | None = None


class RoleGrant(_Frozen):
    """A role granted at a scope of the generated infrastructure."""

    role: str
    scope: Literal["account", "project", "appInsights"]


class RoleSet(_Frozen):
    """Roles for the app identity, the deploying developer and the project's managed identity."""

    app: tuple[RoleGrant, ...]
    developer: tuple[RoleGrant, ...]
    project: tuple[RoleGrant, ...] = ()


class RuntimeProfile(_Frozen):
    """What one runtime needs from the infrastructure and what its app reads."""

    key: Runtime
    title: str
    summary: str
    token_scope: str
    model_formats: tuple[str, ...]
    regions: Literal["responses", "any"]
    roles: RoleSet
    partner_roles: RoleSet | None = None
    env: tuple[str, ...]


class EnvVar(_Frozen):
    """One environment variable of the shared table."""

    name: str
    description: str
    example: str
    required: bool


# libyaml's loader is about ten times faster than the pure-Python one; it matters for `new` start-up.
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _load(name: str) -> Any:
    text = resources.files(__name__).joinpath(name).read_text(encoding="utf-8")
    return yaml.load(text, Loader=YAML_LOADER)


@cache
def models() -> dict[str, CatalogModel]:
    """All catalog models by name, in file order."""
    data = _load("models.yaml")["models"]
    return {name: CatalogModel(name=name, **body) for name, body in data.items()}


@cache
def roles() -> dict[str, Role]:
    """All roles by key."""
    return {key: Role(key=key, **body) for key, body in _load("roles.yaml")["roles"].items()}


@cache
def runtimes() -> dict[Runtime, RuntimeProfile]:
    """All runtime profiles."""
    data = _load("runtimes.yaml")["runtimes"]
    return {Runtime(key): RuntimeProfile(key=Runtime(key), **body) for key, body in data.items()}


@cache
def envvars() -> dict[str, EnvVar]:
    """The environment variable table, by name."""
    return {name: EnvVar(name=name, **body) for name, body in _load("envvars.yaml")["envvars"].items()}


@cache
def _regions() -> dict[str, tuple[str, ...]]:
    return {key: tuple(value) for key, value in _load("regions.yaml").items()}


def normalize_region(value: str) -> str:
    """The one region normaliser: 'Sweden Central' -> 'swedencentral', as ARM and the catalog spell regions."""
    return "".join(value.split()).lower()


def azure_regions() -> tuple[str, ...]:
    """Public Azure region names."""
    return _regions()["azure"]


def runtime_regions(runtime: Runtime) -> tuple[str, ...]:
    """Regions where the runtime is offered (every Azure region for inference)."""
    profile = runtimes()[runtime]
    return _regions()["responses"] if profile.regions == "responses" else azure_regions()


def models_for(runtime: Runtime) -> list[CatalogModel]:
    """Catalog models the runtime can serve."""
    return [m for m in models().values() if runtime in m.runtimes]


def suggest(value: str, choices: list[str] | tuple[str, ...], n: int = 3) -> list[str]:
    """Close matches for a mistyped value, case-insensitively."""
    lowered = {c.lower(): c for c in choices}
    return [lowered[m] for m in difflib.get_close_matches(value.lower(), list(lowered), n=n, cutoff=0.6)]
