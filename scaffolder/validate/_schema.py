"""Resource type schemas behind one small model, from two sources.

bicep-types `types.json` (the compiler's own type data) and the azure-mgmt-cognitiveservices SDK model classes
(pip-installable, one API version).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, cast

Scalar = str | int | bool | None


@dataclass(eq=False)
class Prop:
    """One property of an object type."""

    type: Schema
    required: bool = False
    readonly: bool = False
    writeonly: bool = False


@dataclass(eq=False)
class ObjectSchema:
    """Named object; `additional` types the values of keys not listed (a dictionary)."""

    name: str
    props: dict[str, Prop] = field(default_factory=dict)
    additional: Schema | None = None


@dataclass(eq=False)
class DiscriminatedSchema:
    """Object whose shape depends on the value of one property."""

    name: str
    discriminator: str
    base: dict[str, Prop] = field(default_factory=dict)
    elements: dict[str, ObjectSchema] = field(default_factory=dict)


@dataclass(eq=False)
class StringSchema:
    """Any string, with optional bounds."""

    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None


@dataclass(eq=False)
class LiteralSchema:
    """Exactly one value."""

    value: Scalar


@dataclass(eq=False)
class UnionSchema:
    """One of several types; with a plain StringSchema among them it is an extensible enum."""

    elements: list[Schema] = field(default_factory=list)


@dataclass(eq=False)
class IntSchema:
    """An integer, with optional bounds."""

    minimum: int | None = None
    maximum: int | None = None


@dataclass(eq=False)
class BoolSchema:
    """true or false."""


@dataclass(eq=False)
class NullSchema:
    """null."""


@dataclass(eq=False)
class AnySchema:
    """Anything goes."""


@dataclass(eq=False)
class ArraySchema:
    """Array of one item type."""

    item: Schema
    min_length: int | None = None
    max_length: int | None = None


Schema = (
    ObjectSchema | DiscriminatedSchema | StringSchema | LiteralSchema | UnionSchema | IntSchema | BoolSchema
    | NullSchema | AnySchema | ArraySchema
)


@dataclass(frozen=True)
class Lookup:
    """The body schema of a resource type@version, or why there is none."""

    body: ObjectSchema | DiscriminatedSchema | None
    problem: str = ""
    severity: str = "error"  # "error", "warning", or "skip" (outside what the backend covers: not reported)


class Backend(Protocol):
    """A source of resource schemas."""

    name: str

    def resource(self, type_name: str, api_version: str | None) -> Lookup:
        """The body schema of type@version."""


# -- bicep-types ------------------------------------------------------------------------------------------
FLAG_REQUIRED, FLAG_READONLY, FLAG_WRITEONLY = 1, 2, 4


class BicepTypes:
    """Backend over `<types_dir>/<provider>/<api-version>/types.json` from Azure/bicep-types-az."""

    name = "bicep-types"

    def __init__(self, types_dir: Path) -> None:
        self.types_dir = types_dir
        self._files: dict[tuple[str, str], _TypesFile | None] = {}

    def _file(self, provider: str, api_version: str) -> _TypesFile | None:
        key = (provider.lower(), api_version)
        if key not in self._files:
            path = self.types_dir / key[0] / api_version / "types.json"
            self._files[key] = (
                _TypesFile(json.loads(path.read_text(encoding="utf-8"))) if path.is_file() else None
            )
        return self._files[key]

    def _versions(self, provider: str) -> list[str]:
        folder = self.types_dir / provider.lower()
        return sorted(p.name for p in folder.iterdir() if (p / "types.json").is_file()) if folder.is_dir() else []

    def resource(self, type_name: str, api_version: str | None) -> Lookup:
        """The body schema of type@version (error when the version or type is unknown)."""
        provider = type_name.split("/", 1)[0]
        if api_version is None:
            return Lookup(None, f"{type_name} has no API version")
        versions = self._versions(provider)
        if not versions:
            return Lookup(None, f"no type data for provider {provider} in {self.types_dir}", "warning")
        types = self._file(provider, api_version)
        body = types.resource(type_name, api_version) if types is not None else None
        if body is not None:
            return Lookup(body)
        having = [v for v in versions if (f := self._file(provider, v)) and f.resource(type_name, v) is not None]
        known = f"; versions with this type: {', '.join(having)}" if having else "; no known version has this type"
        return Lookup(None, f"resource type {type_name}@{api_version} does not exist{known}")


class _TypesFile:
    def __init__(self, entries: list[dict[str, Any]]) -> None:
        self.entries = entries
        self.memo: dict[int, Schema] = {}
        self.resources: dict[str, int] = {}
        for e in entries:
            if e.get("$type") == "ResourceType":
                self.resources[str(e["name"]).lower()] = _index(e["body"])

    def resource(self, type_name: str, api_version: str) -> ObjectSchema | DiscriminatedSchema | None:
        index = self.resources.get(f"{type_name}@{api_version}".lower())
        if index is None:
            return None
        body = self.schema(index)
        return body if isinstance(body, (ObjectSchema, DiscriminatedSchema)) else None

    def schema(self, index: int) -> Schema:
        if index in self.memo:
            return self.memo[index]
        e = self.entries[index]
        kind = e.get("$type")
        out: Schema
        if kind == "ObjectType":
            obj = ObjectSchema(str(e.get("name", "")))
            self.memo[index] = obj  # before recursing: types are cyclic (error details nest themselves)
            obj.props = self._props(e.get("properties", {}))
            if "additionalProperties" in e:
                obj.additional = self.schema(_index(e["additionalProperties"]))
            return obj
        if kind == "DiscriminatedObjectType":
            disc = DiscriminatedSchema(str(e.get("name", "")), str(e["discriminator"]))
            self.memo[index] = disc
            disc.base = self._props(e.get("baseProperties", {}))
            for value, ref in e.get("elements", {}).items():
                element = self.schema(_index(ref))
                if isinstance(element, ObjectSchema):
                    disc.elements[value] = element
            return disc
        if kind == "StringType":
            out = StringSchema(e.get("minLength"), e.get("maxLength"), e.get("pattern"))
        elif kind == "StringLiteralType":
            out = LiteralSchema(e.get("value"))
        elif kind == "UnionType":
            union = UnionSchema()
            self.memo[index] = union
            union.elements = [self.schema(_index(r)) for r in e.get("elements", [])]
            return union
        elif kind == "IntegerType":
            out = IntSchema(e.get("minValue"), e.get("maxValue"))
        elif kind == "BooleanType":
            out = BoolSchema()
        elif kind == "NullType":
            out = NullSchema()
        elif kind == "ArrayType":
            array = ArraySchema(AnySchema(), e.get("minLength"), e.get("maxLength"))
            self.memo[index] = array
            array.item = self.schema(_index(e["itemType"]))
            return array
        else:
            out = AnySchema()
        self.memo[index] = out
        return out

    def _props(self, raw: dict[str, Any]) -> dict[str, Prop]:
        props: dict[str, Prop] = {}
        for name, spec in raw.items():
            flags = int(spec.get("flags", 0))
            props[name] = Prop(
                self.schema(_index(spec["type"])),
                required=bool(flags & FLAG_REQUIRED),
                readonly=bool(flags & FLAG_READONLY),
                writeonly=bool(flags & FLAG_WRITEONLY),
            )
        return props


def _index(ref: dict[str, Any]) -> int:
    return int(str(ref["$ref"]).rsplit("/", 1)[-1])


# -- azure-mgmt-cognitiveservices -------------------------------------------------------------------------
SDK_RESOURCE_MODELS = {
    "microsoft.cognitiveservices/accounts": "Account",
    "microsoft.cognitiveservices/accounts/deployments": "Deployment",
    "microsoft.cognitiveservices/accounts/projects": "Project",
    "microsoft.cognitiveservices/accounts/raipolicies": "RaiPolicy",
    "microsoft.cognitiveservices/accounts/raiblocklists": "RaiBlocklist",
    "microsoft.cognitiveservices/accounts/raiblocklists/raiblocklistitems": "RaiBlocklistItem",
    "microsoft.cognitiveservices/accounts/connections": "ConnectionPropertiesV2BasicResource",
    "microsoft.cognitiveservices/accounts/projects/connections": "ConnectionPropertiesV2BasicResource",
    "microsoft.cognitiveservices/accounts/capabilityhosts": "CapabilityHost",
    "microsoft.cognitiveservices/accounts/projects/capabilityhosts": "CapabilityHost",
    "microsoft.cognitiveservices/accounts/commitmentplans": "CommitmentPlan",
    "microsoft.cognitiveservices/commitmentplans": "CommitmentPlan",
    "microsoft.cognitiveservices/commitmentplans/accountassociations": "CommitmentPlanAccountAssociation",
    "microsoft.cognitiveservices/accounts/privateendpointconnections": "PrivateEndpointConnection",
    "microsoft.cognitiveservices/accounts/encryptionscopes": "EncryptionScope",
    "microsoft.cognitiveservices/accounts/defenderforaisettings": "DefenderForAISetting",
}
_VARTYPE = re.compile(r":vartype (\w+): str or\s+~[\w.]+\.(\w+)")


class SdkModels:
    """Backend over the azure-mgmt-cognitiveservices model classes (Microsoft.CognitiveServices only).

    The SDK describes one API version (its default) and its enums are open, so unknown enum values are
    reported as warnings, as the compiler does for extensible enums.
    """

    name = "sdk"

    def __init__(self) -> None:
        from azure.mgmt.cognitiveservices import models

        self.models = models
        self.api_version = sdk_api_version()
        self.memo: dict[str, Schema] = {}

    def resource(self, type_name: str, api_version: str | None) -> Lookup:
        """The body schema of type@version when the SDK covers it."""
        model = SDK_RESOURCE_MODELS.get(type_name.lower())
        if model is None:
            if type_name.lower().startswith("microsoft.cognitiveservices/"):
                return Lookup(None, f"the SDK has no model for {type_name}", "warning")
            return Lookup(None, f"the SDK backend covers Microsoft.CognitiveServices only, not {type_name}",
                          "skip")
        if api_version != self.api_version:
            # A newer version than the SDK's is beyond what this backend can judge (the bicep-types backend and
            # `bicep build` check it); an older one is a choice the SDK could have described, so it is flagged.
            newer = (api_version or "") > self.api_version
            return Lookup(None, f"the SDK describes API {self.api_version}; {type_name}@{api_version} not checked",
                          "skip" if newer else "warning")
        body = self._model(getattr(self.models, model))
        if not isinstance(body, (ObjectSchema, DiscriminatedSchema)):
            return Lookup(None, f"the SDK model {model} is not an object", "warning")
        # ARM takes the name from the declaration (required); the SDK marks it read-only (a URL segment).
        top = body if isinstance(body, ObjectSchema) else None
        if top is not None:
            top = ObjectSchema(top.name, dict(top.props), top.additional)
            top.props["name"] = Prop(StringSchema(), required=True)
            return Lookup(top)
        return Lookup(body)

    def _model(self, cls: Any) -> Schema:
        name = cls.__name__
        if name in self.memo:
            return self.memo[name]
        subtypes: dict[str, dict[str, str]] = getattr(cls, "_subtype_map", None) or {}
        if subtypes:
            attr, mapping = next(iter(subtypes.items()))
            key = cls._attribute_map[attr]["key"]
            disc = DiscriminatedSchema(name, key)
            self.memo[name] = disc
            base = self._object(cls, ObjectSchema(name))
            disc.base = {k: p for k, p in base.props.items() if k != key}
            for value, sub in mapping.items():
                sub_cls = getattr(self.models, sub, None)
                if sub_cls is not None:
                    disc.elements[value] = self._object(sub_cls, ObjectSchema(sub))
            return disc
        obj = ObjectSchema(name)
        self.memo[name] = obj
        return self._object(cls, obj)

    def _object(self, cls: Any, obj: ObjectSchema) -> ObjectSchema:
        validation: dict[str, dict[str, Any]] = getattr(cls, "_validation", {}) or {}
        enums = dict(_VARTYPE.findall(cls.__doc__ or ""))
        for attr, spec in cls._attribute_map.items():
            rules = validation.get(attr, {})
            schema = self._type(str(spec["type"]), enums.get(attr), rules)
            prop = Prop(schema, required=bool(rules.get("required")), readonly=bool(rules.get("readonly")))
            keys = [k.replace("\\.", ".") for k in re.split(r"(?<!\\)\.", str(spec["key"]))]
            target = obj
            for part in keys[:-1]:  # msrest flattening: "properties.x" nests x under properties
                inner = target.props.get(part)
                if inner is None or not isinstance(inner.type, ObjectSchema):
                    inner = Prop(ObjectSchema(f"{obj.name}.{part}"))
                    target.props[part] = inner
                assert isinstance(inner.type, ObjectSchema)
                target = inner.type
            target.props[keys[-1]] = prop
        return obj

    def _type(self, raw: str, enum: str | None, rules: dict[str, Any]) -> Schema:
        if raw.startswith("[") and raw.endswith("]"):
            return ArraySchema(self._type(raw[1:-1], None, {}), rules.get("min_items"), rules.get("max_items"))
        if raw.startswith("{") and raw.endswith("}"):
            return ObjectSchema("dictionary", additional=self._type(raw[1:-1], None, {}))
        if raw == "str":
            enum_cls = getattr(self.models, enum, None) if enum else None
            if enum_cls is not None:
                values: list[Schema] = [LiteralSchema(str(m.value)) for m in enum_cls]
                return UnionSchema([*values, StringSchema()])
            return StringSchema(rules.get("min_length"), rules.get("max_length"), rules.get("pattern"))
        if raw in ("int", "long"):
            return IntSchema(rules.get("minimum"), rules.get("maximum"))
        if raw == "bool":
            return BoolSchema()
        if raw in ("iso-8601", "rfc-1123", "duration", "date", "unix-time", "bytearray", "base64"):
            return StringSchema()
        model = getattr(self.models, raw, None)
        if isinstance(model, type) and hasattr(model, "_attribute_map"):
            return self._model(model)
        return AnySchema()


def sdk_api_version() -> str:
    """The API version the installed azure-mgmt-cognitiveservices describes (its client default)."""
    from azure.mgmt.cognitiveservices._configuration import CognitiveServicesManagementClientConfiguration

    config = CognitiveServicesManagementClientConfiguration(credential=cast(Any, object()), subscription_id="0")
    return str(config.api_version)
