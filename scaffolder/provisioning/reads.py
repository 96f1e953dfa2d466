"""Whether a runtime property path (`id.properties.principalId`) exists on a resource type, from SDK models.

ARM fails a deployment that reads a property its provider does not return only when it gets there, after
the resources before it were written; the Bicep compiler catches it earlier from the type data. The
azure-mgmt SDK model classes installed with scaffolder describe the same JSON for the types below, so a
misspelt property of one of them is refused while planning, before any request.
"""

from __future__ import annotations

import importlib
import re
from functools import cache
from typing import Any

# type (lower case) -> SDK models module and class of the resource as ARM returns it.
_MODELS: dict[str, tuple[str, str]] = {
    "microsoft.cognitiveservices/accounts": ("azure.mgmt.cognitiveservices.models", "Account"),
    "microsoft.cognitiveservices/accounts/projects": ("azure.mgmt.cognitiveservices.models", "Project"),
    "microsoft.cognitiveservices/accounts/deployments": ("azure.mgmt.cognitiveservices.models", "Deployment"),
    "microsoft.cognitiveservices/accounts/projects/connections": (
        "azure.mgmt.cognitiveservices.models",
        "ConnectionPropertiesV2BasicResource",
    ),
    "microsoft.managedidentity/userassignedidentities": ("azure.mgmt.msi.models", "Identity"),
    "microsoft.insights/components": (
        "azure.mgmt.applicationinsights.v2020_02_02.models",
        "ApplicationInsightsComponent",
    ),
    "microsoft.authorization/roleassignments": ("azure.mgmt.authorization.v2022_04_01.models", "RoleAssignment"),
}
_SPLIT = re.compile(r"(?<!\\)\.")


def _model(module: str, name: str) -> Any:
    return getattr(importlib.import_module(module), name, None)


@cache
def _tree(module: str, name: str) -> dict[str, Any]:
    """The JSON shape of a model class: key -> subtree, or a type string for leaves ('str', '{str}', '[X]')."""
    cls = _model(module, name)
    out: dict[str, Any] = {}
    attribute_map: dict[str, dict[str, str]] = getattr(cls, "_attribute_map", None) or {}
    for spec in attribute_map.values():
        keys = [k.replace("\\.", ".") for k in _SPLIT.split(spec["key"])]
        node = out
        for key in keys[:-1]:
            node = node.setdefault(key, {})
            if not isinstance(node, dict):
                break
        else:
            node.setdefault(keys[-1], spec["type"])
    return out


def _open(module: str, leaf: str) -> dict[str, Any] | None:
    """The subtree of a model-typed leaf; None where anything may follow (dicts, objects, unknown models)."""
    if leaf.startswith("[") or leaf.startswith("{") or leaf in ("object", "str", "int", "bool", "float"):
        return None
    cls = _model(module, leaf)
    if cls is None or getattr(cls, "_subtype_map", None):
        return None  # polymorphic: the discriminator decides, so do not judge
    return _tree(module, leaf)


def missing_property(resource_type: str, path: tuple[str | int, ...]) -> str | None:
    """The first segment of path that the type's SDK model does not have, or None (found, or not known)."""
    known = _MODELS.get(resource_type.lower())
    if known is None:
        return None
    module, name = known
    node: dict[str, Any] | None = _tree(module, name)
    leaf_kind = ""
    for part in path:
        if node is None:
            if isinstance(part, int) and leaf_kind.startswith("["):
                inner = leaf_kind[1:-1]
                node, leaf_kind = _open(module, inner), inner
                continue
            return None
        if isinstance(part, int):
            return None
        # ARM property names are case-insensitive, as are the evaluator's member reads.
        match = next((k for k in node if k.lower() == part.lower()), None)
        if match is None:
            return part
        child = node[match]
        if isinstance(child, dict):
            node, leaf_kind = child, ""
        else:
            node, leaf_kind = _open(module, child), child
    return None
