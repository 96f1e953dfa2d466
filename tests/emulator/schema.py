"""Validate ARM request bodies against Bicep's type data for the exact type@api-version (shared/bicep-types).

The same data drives the Bicep compiler's BCP035/036/037/073 diagnostics, so a body accepted here is
one the Bicep would accept too: no unknown or read-only property, required ones present, values of the
declared type, literal and union members respected.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from tests.conftest import SHARED

# Found like every other use of the outside data (tests/conftest.py: ../shared or $SCAFFOLDER_SHARED_DIR).
SHARED_TYPES = SHARED / "bicep-types"
REQUIRED, READ_ONLY = 1, 2
# Set from the URL, never in a PUT body.
URL_PROPERTIES = {"id", "name", "type", "apiVersion"}


def available() -> bool:
    return SHARED_TYPES.is_dir()


@cache
def _types(provider: str, version: str) -> list[dict[str, Any]] | None:
    path = SHARED_TYPES / provider.lower() / version / "types.json"
    if not path.is_file():
        return None
    data: list[dict[str, Any]] = json.loads(path.read_text())
    return data


def has_type(resource_type: str, api_version: str) -> bool:
    """Whether the type data knows resource_type@api_version."""
    types = _types(resource_type.split("/")[0], api_version)
    wanted = f"{resource_type}@{api_version}".lower()
    return types is not None and any(
        e.get("$type") == "ResourceType" and e["name"].lower() == wanted for e in types
    )


def versions(namespace: str) -> dict[str, list[str]]:
    """Resource types of one provider namespace (without the namespace) and the API versions the type data has."""
    out: dict[str, list[str]] = {}
    folder = SHARED_TYPES / namespace.lower()
    for version_dir in sorted(folder.iterdir()) if folder.is_dir() else []:
        for entry in _types(namespace, version_dir.name) or []:
            if entry.get("$type") == "ResourceType":
                name, _, version = str(entry["name"]).partition("@")
                out.setdefault(name.split("/", 1)[1], []).append(version)
    return out


def validate(resource_type: str, api_version: str, body: Any) -> list[str]:
    """Problems found in body; an empty list means valid. Raises LookupError if the type data is missing."""
    provider = resource_type.split("/")[0]
    types = _types(provider, api_version)
    if types is None:
        raise LookupError(f"no Bicep type data for {provider}@{api_version}")
    wanted = f"{resource_type}@{api_version}".lower()
    for entry in types:
        if entry.get("$type") == "ResourceType" and entry["name"].lower() == wanted:
            root = _deref(types, entry["body"])
            problems: list[str] = []
            _check_object(types, root, body, "", problems, top=True)
            return problems
    raise LookupError(f"{resource_type}@{api_version} is not in the Bicep type data")


def _deref(types: list[dict[str, Any]], ref: dict[str, str]) -> dict[str, Any]:
    return types[int(ref["$ref"].rsplit("/", 1)[1])]


def _check(types: list[dict[str, Any]], spec: dict[str, Any], value: Any, path: str, problems: list[str]) -> None:
    kind = spec["$type"]
    if kind == "AnyType":
        return
    if kind == "StringType":
        if not isinstance(value, str):
            problems.append(f"{path}: expected a string, got {value!r}")
            return
        if "minLength" in spec and len(value) < spec["minLength"]:
            problems.append(f"{path}: shorter than {spec['minLength']}")
        if "maxLength" in spec and len(value) > spec["maxLength"]:
            problems.append(f"{path}: longer than {spec['maxLength']}")
        return
    if kind == "IntegerType":
        # Bicep has no fractional type, so its type data writes a fractional ARM number as IntegerType (the
        # container's cpu: "Required CPU in cores, e.g. 0.5", microsoft.app/2025-07-01 ContainerResources);
        # templates send one through json('0.5'), as azure-dev's core/host/container-app.bicep does.
        if isinstance(value, float):
            value = int(value) if value.is_integer() else value
        elif not isinstance(value, int) or isinstance(value, bool):
            problems.append(f"{path}: expected an integer, got {value!r}")
            return
        if "minValue" in spec and value < spec["minValue"]:
            problems.append(f"{path}: below {spec['minValue']}")
        if "maxValue" in spec and value > spec["maxValue"]:
            problems.append(f"{path}: above {spec['maxValue']}")
        return
    if kind == "BooleanType":
        if not isinstance(value, bool):
            problems.append(f"{path}: expected a boolean, got {value!r}")
        return
    if kind == "StringLiteralType":
        if value != spec["value"]:
            problems.append(f"{path}: expected {spec['value']!r}, got {value!r}")
        return
    if kind == "UnionType":
        for element in spec["elements"]:
            trial: list[str] = []
            _check(types, _deref(types, element), value, path, trial)
            if not trial:
                return
        problems.append(f"{path}: {value!r} matches no allowed value")
        return
    if kind == "ArrayType":
        if not isinstance(value, list):
            problems.append(f"{path}: expected an array, got {value!r}")
            return
        item = _deref(types, spec["itemType"])
        for i, element in enumerate(value):
            _check(types, item, element, f"{path}[{i}]", problems)
        return
    if kind in ("ObjectType", "DiscriminatedObjectType"):
        _check_object(types, spec, value, path, problems)
        return
    problems.append(f"{path}: unsupported type kind {kind}")


def _check_object(
    types: list[dict[str, Any]], spec: dict[str, Any], value: Any, path: str, problems: list[str], top: bool = False
) -> None:
    if not isinstance(value, dict):
        problems.append(f"{path or '.'}: expected an object, got {value!r}")
        return
    props: dict[str, Any] = dict(spec.get("properties") or {})
    if spec["$type"] == "DiscriminatedObjectType":
        props.update(spec.get("baseProperties") or {})
        tag = value.get(spec["discriminator"])
        variant = (spec.get("elements") or {}).get(tag)
        if variant is None:
            problems.append(f"{path}.{spec['discriminator']}: unknown variant {tag!r}")
            return
        props.update(_deref(types, variant).get("properties") or {})
    extra = spec.get("additionalProperties")
    for key, item in value.items():
        sub = f"{path}.{key}" if path else key
        if key not in props:
            if extra is not None:
                _check(types, _deref(types, extra), item, sub, problems)
            else:
                problems.append(f"{sub}: unknown property")
            continue
        flags = props[key].get("flags", 0)
        if flags & READ_ONLY:
            problems.append(f"{sub}: read-only property sent")
            continue
        _check(types, _deref(types, props[key]["type"]), item, sub, problems)
    for key, prop in props.items():
        if prop.get("flags", 0) & REQUIRED and key not in value and not (top and key in URL_PROPERTIES):
            problems.append(f"{path + '.' if path else ''}{key}: required property missing")
