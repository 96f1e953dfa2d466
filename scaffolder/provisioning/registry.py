"""The resource type registry (catalog/resource_types.yaml): what the Bicep cannot say about an ARM type."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml


@dataclass(frozen=True)
class ResourceType:
    """One ARM resource type: pinned API version, name limits, abbreviation, write permission, write rules."""

    type: str
    api_version: str
    name_min: int
    name_max: int
    abbreviation: str
    write_permission: str
    serialise_under_parent: bool = False
    write_only: tuple[str, ...] = ()
    kind: str | None = None
    source: str = ""


@cache
def resource_types() -> dict[str, ResourceType]:
    """Registry entries keyed by lower-cased ARM type."""
    raw = yaml.safe_load(resources.files("scaffolder.catalog").joinpath("resource_types.yaml").read_text("utf-8"))
    out: dict[str, ResourceType] = {}
    for item in raw["types"]:
        entry = ResourceType(
            type=item["type"],
            api_version=str(item["api_version"]),
            name_min=int(item["name"]["min"]),
            name_max=int(item["name"]["max"]),
            abbreviation=str(item["abbreviation"]),
            write_permission=item.get("write_permission") or f"{item['type']}/write",
            serialise_under_parent=bool(item.get("serialise_under_parent", False)),
            write_only=tuple(item.get("write_only", ())),
            kind=item.get("kind"),
            source=item.get("source", ""),
        )
        out[entry.type.lower()] = entry
    return out


def lookup(resource_type: str) -> ResourceType | None:
    """The registry entry of a type, or None for a type the tool has never seen (still provisioned)."""
    return resource_types().get(resource_type.lower())


def write_permission(resource_type: str) -> str:
    """The RBAC action needed to create or update a resource of this type (ARM's `<type>/write` by default)."""
    entry = lookup(resource_type)
    return entry.write_permission if entry is not None else f"{resource_type}/write"


def by_kind() -> dict[str, ResourceType]:
    """Entries of the standards' naming kinds (account, identity, logAnalytics, appInsights)."""
    return {e.kind: e for e in resource_types().values() if e.kind}
