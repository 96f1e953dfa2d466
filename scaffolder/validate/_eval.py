"""Evaluate Bicep expressions to values where they are knowable, and to typed unknowns where they are not.

Static mode gives every parameter an Unknown of its declared type (and @allowed values); rendered mode
substitutes values (from main.parameters.json, or from the module call in the parent file), so expression-
valued properties such as `networkPosture == 'ip-restricted' ? 'Deny' : 'Allow'` become checkable.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import tree_sitter as ts

from scaffolder.safeio import load_json
from scaffolder.validate._model import (
    BicepFile,
    Decl,
    Loop,
    Module,
    Resource,
    call_name,
    kids,
    loop_parts,
    object_properties,
    pos,
    string_parts,
    string_value,
    text,
)
from scaffolder.validate.bicepfn import guid, unique_string

Kind = Literal["string", "int", "bool", "array", "object", "null", "any"]
# float only from json('0.5'): Bicep has no fractional literal, so that is how templates write one.
Scalar = str | int | float | bool | None
PRIMITIVE_KINDS: dict[str, Kind] = {
    "string": "string", "int": "int", "bool": "bool", "array": "array", "object": "object",
}


@dataclass(frozen=True)
class Lit:
    """A known scalar: string, int (or a number from json()), bool or null."""

    value: Scalar


@dataclass(frozen=True)
class Unknown:
    """A value known only by kind (and, for @allowed params, by its possible values)."""

    kind: Kind = "any"
    allowed: tuple[Scalar, ...] | None = None
    origin: str = ""


@dataclass(frozen=True)
class Item:
    """A value with the place it was written: line, column and file ("" when it came from elsewhere)."""

    value: Value
    at: tuple[int, int]
    src: str = ""


@dataclass
class Obj:
    """An object with known keys; `closed` when those are all its keys (a literal, or parameter JSON)."""

    items: dict[str, Item] = field(default_factory=dict)
    closed: bool = True


@dataclass
class Arr:
    """An array; `open` marks one representative item of an array whose length is not known."""

    items: list[Item] = field(default_factory=list)
    open: bool = False


@dataclass
class Alt:
    """One of several values (an undecided ternary)."""

    options: tuple[Value, ...]


@dataclass
class Ref:
    """A reference to a resource or module symbol (its members are looked up lazily)."""

    target: Resource | Module
    collection: bool = False


Value = Lit | Unknown | Obj | Arr | Alt | Ref

ANY = Unknown()


def kind_of(value: Value) -> Kind:
    """The Bicep kind of a value ("any" when undecided)."""
    if isinstance(value, Lit):
        v = value.value
        if v is None:
            return "null"
        if isinstance(v, bool):
            return "bool"
        # Bicep's type data types ARM's fractional numbers (e.g. a container's cpu) as IntegerType
        return "int" if isinstance(v, (int, float)) else "string"
    if isinstance(value, Unknown):
        return value.kind
    if isinstance(value, Obj):
        return "object"
    if isinstance(value, Arr):
        return "array"
    if isinstance(value, Ref):
        return "array" if value.collection else "object"
    kinds = {kind_of(o) for o in value.options}
    return kinds.pop() if len(kinds) == 1 else "any"


def from_json(data: object, at: tuple[int, int]) -> Value:
    """A JSON value as a Value (every item placed at `at`)."""
    if isinstance(data, dict):
        return Obj({str(k): Item(from_json(v, at), at) for k, v in data.items()})
    if isinstance(data, list):
        return Arr([Item(from_json(v, at), at) for v in data])
    if data is None or isinstance(data, (str, int, float, bool)):
        return Lit(data)
    return ANY


def to_plain(value: Value) -> object:
    """A Value as plain Python data; unknown parts stay Unknown/Alt/Ref objects."""
    if isinstance(value, Lit):
        return value.value
    if isinstance(value, Obj):
        return {k: to_plain(i.value) for k, i in value.items.items()}
    if isinstance(value, Arr):
        return [to_plain(i.value) for i in value.items]
    return value


def is_known(value: Value) -> bool:
    """Whether the value is fully known (no Unknown, Alt or Ref inside)."""
    if isinstance(value, Lit):
        return True
    if isinstance(value, Obj):
        return all(is_known(i.value) for i in value.items.values())
    if isinstance(value, Arr):
        return not value.open and all(is_known(i.value) for i in value.items)
    return False


def static_param(decl: Decl) -> Unknown:
    """What static analysis knows about a parameter: its declared kind and @allowed values."""
    type_node = decl.type_node
    raw = text(type_node) if type_node is not None else ""
    kind: Kind = "any" if raw.endswith("?") else PRIMITIVE_KINDS.get(raw, "any")
    allowed: tuple[Scalar, ...] | None = None
    args = decl.decorator_args("allowed")
    if args and args[0].type == "array":
        values = [literal(n) for n in kids(args[0])]
        if all(isinstance(v, Lit) for v in values):
            allowed = tuple(v.value for v in values if isinstance(v, Lit))
    return Unknown(kind, allowed, f"param {decl.name}")


def literal(node: ts.Node) -> Value:
    """A literal node's value (no symbols needed); Unknown for anything else."""
    if node.type == "string":
        value = string_value(node)
        return Lit(value) if value is not None else Unknown("string")
    if node.type == "number":
        return Lit(int(text(node)))
    if node.type == "boolean":
        return Lit(text(node) == "true")
    if node.type == "null":
        return Lit(None)
    if node.type == "unary_expression":
        inner = node.child_by_field_name("argument")
        op = node.children[0].type if node.children else ""
        if inner is not None and op == "-":
            v = literal(inner)
            if isinstance(v, Lit) and isinstance(v.value, int) and not isinstance(v.value, bool):
                return Lit(-v.value)
    return ANY


def _stand_in(prefix: str, args: Sequence[Value], length: int) -> str:
    # uniqueString/guid outputs depend on deployment-time ids; a deterministic stand-in of the same shape
    # (13 lowercase base32 characters / a GUID) is enough for name length and pattern checks.
    seed = json.dumps([repr(to_plain(a)) for a in args]).encode()
    digest = hashlib.sha256(prefix.encode() + seed).digest()
    return base64.b32encode(digest).decode().lower()[:length]


def bicep_str(value: object) -> str:
    """A value as Bicep prints it in a string: true/false, null, else str()."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "null" if value is None else str(value)


def _scalars(args: Sequence[Value]) -> list[Scalar] | None:
    if all(isinstance(a, Lit) for a in args):
        return [a.value for a in args if isinstance(a, Lit)]
    return None


def _union(args: Sequence[Value]) -> Value:
    if args and all(isinstance(a, Obj) for a in args):
        merged: dict[str, Item] = {}
        for a in args:
            if isinstance(a, Obj):
                for k, item in a.items.items():
                    old = merged.get(k)
                    if old is not None and isinstance(old.value, Obj) and isinstance(item.value, Obj):
                        merged[k] = Item(_union([old.value, item.value]), item.at)
                    else:
                        merged[k] = item
        return Obj(merged, closed=all(isinstance(a, Obj) and a.closed for a in args))
    if args and all(isinstance(a, Arr) for a in args):
        seen: list[Item] = []
        plain: list[object] = []
        for a in args:
            if isinstance(a, Arr):
                for item in a.items:
                    p = to_plain(item.value)
                    if p not in plain:
                        plain.append(p)
                        seen.append(item)
        return Arr(seen)
    kinds = {kind_of(a) for a in args}
    return Unknown(kinds.pop() if len(kinds) == 1 else "any")


def _length(args: Sequence[Value]) -> Value:
    if len(args) == 1:
        a = args[0]
        if isinstance(a, Lit) and isinstance(a.value, str):
            return Lit(len(a.value))
        if isinstance(a, Obj) or (isinstance(a, Arr) and not a.open):
            return Lit(len(a.items))
    return Unknown("int")


def _empty(args: Sequence[Value]) -> Value:
    if len(args) == 1:
        a = args[0]
        if isinstance(a, Lit):
            return Lit(a.value in (None, ""))
        if isinstance(a, Obj) or (isinstance(a, Arr) and not a.open):
            return Lit(not a.items)
    return Unknown("bool")


def _contains(args: Sequence[Value]) -> Value:
    if len(args) == 2:
        container, item = args
        if isinstance(item, Lit):
            if isinstance(container, Lit) and isinstance(container.value, str) and isinstance(item.value, str):
                return Lit(item.value in container.value)
            if isinstance(container, Obj) and isinstance(item.value, str):
                # Object keys compare case-insensitively; strings and array items case-sensitively.
                return Lit(item.value.lower() in {k.lower() for k in container.items})
            if isinstance(container, Arr) and not container.open and is_known(container):
                return Lit(item.value in [to_plain(i.value) for i in container.items])
    return Unknown("bool")


def _range(args: Sequence[Value]) -> Value:
    vals = _scalars(args)
    if vals is not None and len(vals) == 2 and all(isinstance(v, int) for v in vals):
        start, count = int(vals[0] or 0), int(vals[1] or 0)
        return Arr([Item(Lit(i), (0, 0)) for i in range(start, start + count)])
    return Unknown("array")


def _first_last(index: int) -> Callable[[Sequence[Value]], Value]:
    def run(args: Sequence[Value]) -> Value:
        if len(args) == 1:
            a = args[0]
            if isinstance(a, Arr) and a.items and not a.open:
                return a.items[index].value
            if isinstance(a, Lit) and isinstance(a.value, str) and a.value:
                return Lit(a.value[index])
        return ANY

    return run


def _string_fn(fn: Callable[..., object], arity: int | None = None) -> Callable[[Sequence[Value]], Value]:
    def run(args: Sequence[Value]) -> Value:
        vals = _scalars(args)
        if vals is None or (arity is not None and len(vals) != arity):
            return Unknown("string")
        try:
            out = fn(*vals)
        except (TypeError, ValueError, IndexError, AttributeError):
            return Unknown("string")
        return from_json(out, (0, 0))

    return run


def _format(fmt: object, *values: object) -> str:
    assert isinstance(fmt, str)

    def one(m: re.Match[str]) -> str:
        if m.group(0) in ("{{", "}}"):
            return m.group(0)[0]
        index = int(m.group(1))
        if m.group(2) or index >= len(values):
            # A .NET format specifier ({0:N0}) or a missing argument: not guessed at.
            raise ValueError(m.group(0))
        v = values[index]
        return v if isinstance(v, str) else bicep_str(v)

    return re.sub(r"\{\{|\}\}|\{(\d+)(,[^}]*|:[^}]*)?\}", one, fmt)


def _substring(s: object, start: object, length: object = None) -> str:
    # ARM fails the deployment when the range leaves the string (it does not clip as Python slicing does).
    n = len(s) - start if isinstance(s, str) and isinstance(start, int) and length is None else length
    if not (isinstance(s, str) and isinstance(start, int) and isinstance(n, int)):
        raise TypeError("substring(string, int, int)")
    if start < 0 or n < 0 or start > len(s) or start + n > len(s):
        raise ValueError(f"substring({start}, {n}) outside a string of {len(s)}")
    return s[start : start + n]


def _case(s: object, upper: bool) -> str:
    # .NET's ToUpperInvariant/ToLowerInvariant map one character to one character (ß stays ß), unlike
    # Python's full case mapping ('ß'.upper() == 'SS').
    if not isinstance(s, str):
        raise TypeError("a string")
    out = []
    for ch in s:
        mapped = ch.upper() if upper else ch.lower()
        out.append(mapped if len(mapped) == 1 else ch)
    return "".join(out)


def _slice(args: Sequence[Value], *, skip: bool) -> Value:
    if len(args) == 2 and isinstance(args[1], Lit) and isinstance(args[1].value, int):
        n = max(args[1].value, 0)
        a = args[0]
        if isinstance(a, Lit) and isinstance(a.value, str):
            return Lit(a.value[n:] if skip else a.value[:n])
        if isinstance(a, Arr) and not a.open:
            return Arr(a.items[n:] if skip else a.items[:n])
    return Unknown(kind_of(args[0])) if args else ANY


def _replace(args: Sequence[Value]) -> Value:
    if len(args) == 3:
        source, old, new = args
        # a token that does not occur leaves the string as it is, whatever would have replaced it
        if isinstance(source, Lit) and isinstance(old, Lit) and isinstance(source.value, str):
            if isinstance(old.value, str) and old.value not in source.value:
                return source
            if isinstance(new, Lit) and isinstance(old.value, str) and isinstance(new.value, str):
                return Lit(source.value.replace(old.value, new.value))
    return Unknown("string")


def _coalesce(args: Sequence[Value]) -> Value:
    for a in args:
        if isinstance(a, Lit) and a.value is None:
            continue
        if isinstance(a, (Lit, Obj, Arr)):
            return a
        return ANY
    return Lit(None)


def _json(args: Sequence[Value]) -> Value:
    if len(args) == 1 and isinstance(args[0], Lit) and isinstance(args[0].value, str):
        try:
            # Bounded: a json('[[[[...]]]]') literal nested thousands deep must not overflow the stack.
            return from_json(load_json(args[0].value), (0, 0))
        except ValueError:
            return ANY
    return ANY


def _literal_strings(args: Sequence[Value]) -> list[str] | None:
    if args and all(isinstance(a, Lit) and isinstance(a.value, str) for a in args):
        return [str(a.value) for a in args if isinstance(a, Lit)]
    return None


def _unique_string(args: Sequence[Value]) -> Value:
    # Known arguments: ARM's own algorithm (the port provisioning names resources with); else a stand-in.
    known = _literal_strings(args)
    return Lit(unique_string(*known) if known else _stand_in("uniqueString", args, 13))


def _guid(args: Sequence[Value]) -> Value:
    known = _literal_strings(args)
    if known:
        return Lit(guid(*known))
    return Lit(str(uuid.UUID(bytes=hashlib.sha256(_stand_in("guid", args, 40).encode()).digest()[:16])))


def _resource_group(args: Sequence[Value]) -> Value:
    return Obj(closed=False, items={
        "id": Item(Unknown("string", origin="resourceGroup().id"), (0, 0)),
        "name": Item(Unknown("string", origin="resourceGroup().name"), (0, 0)),
        "location": Item(Unknown("string", origin="resourceGroup().location"), (0, 0)),
        "type": Item(Lit("Microsoft.Resources/resourceGroups"), (0, 0)),
        "tags": Item(Unknown("object"), (0, 0)),
        "properties": Item(Unknown("object"), (0, 0)),
        "managedBy": Item(Unknown("string"), (0, 0)),
    })


def _subscription(args: Sequence[Value]) -> Value:
    keys = ("id", "subscriptionId", "tenantId", "displayName")
    return Obj({k: Item(Unknown("string", origin=f"subscription().{k}"), (0, 0)) for k in keys}, closed=False)


Builtin = Callable[[Sequence[Value]], Value]


def _returns(kind: Kind) -> Builtin:
    return lambda args: Unknown(kind)


# Every function Bicep knows (namespace `az`/`sys`), with an implementation where evaluation helps and the
# kind it returns otherwise. Names not listed here are reported as unknown functions.
BUILTINS: dict[str, Builtin] = {
    "any": lambda a: a[0] if a else ANY,
    "array": lambda a: a[0] if a and isinstance(a[0], Arr) else Unknown("array"),
    "base64": _returns("string"),
    "base64ToJson": _returns("any"),
    "base64ToString": _returns("string"),
    "bool": _string_fn(lambda v: v if isinstance(v, bool) else str(v).lower() == "true", 1),
    "buildUri": _returns("string"),
    "cidrHost": _returns("string"),
    "cidrSubnet": _returns("string"),
    "coalesce": _coalesce,
    "concat": lambda a: (
        Arr([i for x in a if isinstance(x, Arr) for i in x.items]) if a and all(isinstance(x, Arr) for x in a)
        # arrays not all known yet (an array parameter): still an array, as Bicep types concat over arrays
        else Unknown("array") if any(kind_of(x) == "array" for x in a)
        else _string_fn(lambda *v: "".join(bicep_str(x) for x in v))(a)
    ),
    "contains": _contains,
    "dataUri": _returns("string"),
    "dataUriToString": _returns("string"),
    "dateTimeAdd": _returns("string"),
    "dateTimeFromEpoch": _returns("string"),
    "dateTimeToEpoch": _returns("int"),
    "deployer": _returns("object"),
    "deployment": _returns("object"),
    "empty": _empty,
    "endsWith": _string_fn(lambda s, x: s.lower().endswith(x.lower()), 2),  # case-insensitive in ARM
    "environment": _returns("object"),
    "extensionResourceId": _returns("string"),
    "filter": _returns("array"),
    "first": _first_last(0),
    "flatten": _returns("array"),
    "format": _string_fn(_format),
    "getSecret": _returns("string"),
    "groupBy": _returns("object"),
    "guid": _guid,
    "indexOf": _string_fn(lambda s, x: s.lower().find(x.lower()), 2),
    "int": _string_fn(lambda v: int(v), 1),
    "intersection": _returns("any"),
    "items": _returns("array"),
    "join": lambda a: (
        _string_fn(lambda *v: str(v[-1]).join(bicep_str(x) for x in v[:-1]))(
            [*[i.value for i in a[0].items], a[1]]
        ) if len(a) == 2 and isinstance(a[0], Arr) else Unknown("string")
    ),
    "json": _json,
    "last": _first_last(-1),
    "lastIndexOf": _string_fn(lambda s, x: s.lower().rfind(x.lower()), 2),
    "length": _length,
    "loadFileAsBase64": _returns("string"),
    "loadJsonContent": _returns("any"),
    "loadTextContent": _returns("string"),
    "loadYamlContent": _returns("any"),
    "managementGroup": _returns("object"),
    "managementGroupResourceId": _returns("string"),
    "map": _returns("array"),
    "mapValues": _returns("object"),
    "max": _returns("int"),
    "min": _returns("int"),
    "newGuid": _returns("string"),
    "objectKeys": _returns("array"),
    "padLeft": _string_fn(lambda s, n, c=" ": bicep_str(s).rjust(int(n or 0), str(c))),
    "parseCidr": _returns("object"),
    "parseUri": _returns("object"),
    "pickZones": _returns("array"),
    "range": _range,
    "reduce": _returns("any"),
    "reference": _returns("any"),
    "replace": _replace,
    "resourceGroup": _resource_group,
    "resourceId": _returns("string"),
    "shallowMerge": _returns("object"),
    "skip": lambda a: _slice(a, skip=True),
    "sort": _returns("array"),
    "split": _string_fn(lambda s, d: s.split(d), 2),
    "startsWith": _string_fn(lambda s, x: s.lower().startswith(x.lower()), 2),  # case-insensitive in ARM
    "string": _string_fn(lambda v: v if isinstance(v, str) else bicep_str(v), 1),
    "subscription": _subscription,
    "subscriptionResourceId": _returns("string"),
    "substring": _string_fn(_substring),
    "take": lambda a: _slice(a, skip=False),
    "tenant": _returns("object"),
    "tenantResourceId": _returns("string"),
    "toLower": _string_fn(lambda s: _case(s, upper=False), 1),
    "toObject": _returns("object"),
    "toUpper": _string_fn(lambda s: _case(s, upper=True), 1),
    "trim": _string_fn(lambda s: s.strip(), 1),
    "tryGet": _returns("any"),
    "union": _union,
    "uniqueString": _unique_string,
    "uri": _returns("string"),
    "uriComponent": _returns("string"),
    "uriComponentToString": _returns("string"),
    "utcNow": _returns("string"),
}
# list*() (listKeys, listSecrets, listConnectionStrings, ...) are resource functions matched by prefix.
LIST_PREFIX = "list"

DECORATORS = frozenset({
    "allowed", "batchSize", "description", "discriminator", "export", "maxLength", "maxValue", "metadata",
    "minLength", "minValue", "onlyIfNotExists", "sealed", "secure",
})
NAMESPACES = frozenset({"az", "sys"})


def is_builtin(name: str) -> bool:
    """Whether a function name is a Bicep built-in (list* resource functions included)."""
    return name in BUILTINS or (name.startswith(LIST_PREFIX) and name[len(LIST_PREFIX):][:1].isupper())


def _compare(op: str, a: Scalar, b: Scalar) -> bool | None:
    if op == "==":
        return a == b
    if op == "!=":
        return a != b
    if op in ("=~", "!~") and isinstance(a, str) and isinstance(b, str):
        same = a.lower() == b.lower()
        return same if op == "=~" else not same
    if isinstance(a, int) and isinstance(b, int) and not isinstance(a, bool) and not isinstance(b, bool):
        return {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}.get(op)
    return None


def _arith(op: str, a: int, b: int) -> int | None:
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op in ("/", "%") and b != 0:
        # ARM's div/mod truncate toward zero (C# semantics), unlike Python's floor division
        quotient = abs(a) // abs(b) * (1 if (a >= 0) == (b >= 0) else -1)
        return quotient if op == "/" else a - b * quotient
    return None


ModuleOutputs = Callable[[Module], Value]


class Evaluator:
    """Evaluates expressions of one Bicep file under given parameter values."""

    def __init__(
        self,
        file: BicepFile,
        params: Mapping[str, Value] | None = None,
        module_outputs: ModuleOutputs | None = None,
        *,
        defaults: bool = False,
    ) -> None:
        self.file = file
        self.params: dict[str, Value] = dict(params or {})
        self._param_decls = file.params
        self._defaults = defaults
        self._module_outputs = module_outputs
        self._vars: dict[str, Value] = {}
        self._busy: set[str] = set()
        # (node, message) for reads the deployment would fail on: a key missing from a closed object,
        # an index past the end of a known array
        self.problems: dict[tuple[int, int, str], tuple[ts.Node, str]] = {}
        self._variables = file.variables
        self._symbols: dict[str, Resource | Module] = {}
        for res in file.resources:
            self._symbols.setdefault(res.name, res)
        for mod in file.modules:
            self._symbols.setdefault(mod.name, mod)

    # -- symbols ------------------------------------------------------------------------------------------
    def variable(self, name: str) -> Value:
        """A variable's value (memoised; a cycle evaluates to unknown)."""
        if name in self._vars:
            return self._vars[name]
        decl = self._variables.get(name)
        if decl is None or name in self._busy or decl.value is None:
            return ANY
        self._busy.add(name)
        try:
            value = self.eval(decl.value)
        finally:
            self._busy.discard(name)
        self._vars[name] = value
        return value

    def param(self, name: str) -> Value:
        """A parameter's value: given, else (with defaults on) its default, else what its type says."""
        if name in self.params:
            return self.params[name]
        decl = self._param_decls[name]
        key = f"param:{name}"
        value: Value = static_param(decl)
        if self._defaults and decl.value is not None and key not in self._busy:
            self._busy.add(key)
            try:
                value = self.eval(decl.value)
            finally:
                self._busy.discard(key)
        self.params[name] = value
        return value

    def lookup(self, name: str, env: Mapping[str, Value]) -> Value:
        """The value a name stands for in an expression."""
        if name in env:
            return env[name]
        if name in self.params:
            return self.params[name]
        if name in self._param_decls:
            return self.param(name)
        if name in self._variables:
            return self.variable(name)
        sym = self._symbols.get(name)
        if sym is not None:
            return Ref(sym, collection=sym.parts.loop is not None)
        return ANY

    def problem(self, node: ts.Node | None, message: str) -> None:
        """Record a read the deployment would fail on (safe dereference `.?`/`[?]` excepted)."""
        if node is None or any("?" in c.type for c in node.children if not c.is_named):
            return
        self.problems.setdefault((node.start_byte, node.end_byte, message), (node, message))

    def member(self, base: Value, prop: str, env: Mapping[str, Value], node: ts.Node | None = None) -> Value:
        """`base.prop`."""
        if isinstance(base, Alt):
            return _alt([self.member(o, prop, env, node) for o in base.options])
        if isinstance(base, Obj):
            # ARM looks object properties up case-insensitively (`abbreviations.Account` finds `account`).
            item = base.items.get(prop) or next(
                (i for k, i in base.items.items() if k.lower() == prop.lower()), None
            )
            if item is None and base.closed:
                known = ", ".join(sorted(base.items)) or "none"
                self.problem(node, f"the object has no property {prop!r} (it has: {known})")
            return item.value if item is not None else ANY
        if isinstance(base, Ref) and not base.collection:
            return self._ref_member(base.target, prop, env)
        return ANY

    def _ref_member(self, target: Resource | Module, prop: str, env: Mapping[str, Value]) -> Value:
        body = target.parts.body
        if isinstance(target, Module):
            if prop == "outputs":
                return self._module_outputs(target) if self._module_outputs is not None else ANY
            if prop == "name" and body is not None and target.parts.loop is None:
                return self._body_member(body, "name", env)
            return ANY
        if prop == "type":
            return Lit(target.type)
        if prop == "apiVersion":
            return Lit(target.api_version) if target.api_version else ANY
        if prop == "id":
            return Unknown("string", origin=f"{target.name}.id")
        if prop == "name" and body is not None and target.parts.loop is None:
            return self._body_member(body, "name", env)
        return ANY

    def _body_member(self, body: ts.Node, key: str, env: Mapping[str, Value]) -> Value:
        for name, _prop, value in object_properties(body):
            if name == key:
                return self.eval(value, {})
        return ANY

    # -- expressions --------------------------------------------------------------------------------------
    def eval(self, node: ts.Node, env: Mapping[str, Value] | None = None) -> Value:
        """Evaluate an expression node."""
        scope: Mapping[str, Value] = env if env is not None else {}
        t = node.type
        if t in ("number", "boolean", "null"):
            return literal(node)
        if t == "string":
            return self._string(node, scope)
        if t == "identifier":
            return self.lookup(text(node), scope)
        if t == "parenthesized_expression":
            inner = kids(node)
            return self.eval(inner[0], scope) if len(inner) == 1 else ANY
        if t == "array":
            return Arr([Item(self.eval(c, scope), pos(c), self.file.name) for c in kids(node)])
        if t == "object":
            return self.object(node, scope)
        if t == "unary_expression":
            return self._unary(node, scope)
        if t == "binary_expression":
            return self._binary(node, scope)
        if t == "ternary_expression":
            return self._ternary(node, scope)
        if t == "member_expression":
            obj = node.child_by_field_name("object")
            prop = node.child_by_field_name("property")
            if obj is None or prop is None:
                return ANY
            if obj.type == "ternary_expression":
                # The grammar reads `c ? x : a.b` as `(c ? x : a).b`; Bicep binds `.b` to `a` only.
                name = text(prop)
                return self._tail_access(obj, lambda v: self.member(v, name, scope, node), scope)
            return self.member(self.eval(obj, scope), text(prop), scope, node)
        if t == "subscript_expression":
            obj = node.child_by_field_name("object")
            if obj is not None and obj.type == "ternary_expression":
                # Same mis-association as above for `c ? x : a[0]`: not guessed at.
                return Unknown("any", origin="an index after a ternary (add parentheses)")
            return self._subscript(node, scope)
        if t == "call_expression":
            return self._call(node, scope)
        if t == "for_statement":
            return self._for(node, scope)
        if t == "resource_expression":
            return ANY
        return ANY

    def object(self, node: ts.Node, env: Mapping[str, Value]) -> Obj:
        """An object literal (nested resource declarations are not values and are left out)."""
        items: dict[str, Item] = {}
        for key, prop, value in object_properties(node):
            items[key] = Item(self.eval(value, env), pos(prop), self.file.name)
        return Obj(items)

    def _string(self, node: ts.Node, env: Mapping[str, Value]) -> Value:
        out: list[str] = []
        for part in string_parts(node):
            if isinstance(part, str):
                out.append(part)
                continue
            v = self.eval(part, env)
            if not isinstance(v, Lit):
                return Unknown("string")
            out.append(bicep_str(v.value))
        return Lit("".join(out))

    def _unary(self, node: ts.Node, env: Mapping[str, Value]) -> Value:
        arg = node.child_by_field_name("argument")
        op = node.children[0].type if node.children else ""
        if arg is None:
            return ANY
        v = self.eval(arg, env)
        if op == "!":
            if isinstance(v, Lit) and isinstance(v.value, bool):
                return Lit(not v.value)
            return Unknown("bool")
        if op == "-":
            if isinstance(v, Lit) and isinstance(v.value, int) and not isinstance(v.value, bool):
                return Lit(-v.value)
            return Unknown("int")
        return ANY

    def _binary(self, node: ts.Node, env: Mapping[str, Value]) -> Value:
        left = node.child_by_field_name("left")
        right = node.child_by_field_name("right")
        op_node = node.child_by_field_name("operator")
        if op_node is None:
            middle = [c for c in node.children if not c.is_named]
            op_node = middle[0] if middle else None
        if left is None or right is None or op_node is None:
            return ANY
        op = text(op_node)
        a = self.eval(left, env)
        if op in ("&&", "||"):
            if isinstance(a, Lit) and isinstance(a.value, bool):
                if (op == "&&" and not a.value) or (op == "||" and a.value):
                    return Lit(a.value)
                b = self.eval(right, env)
                return b if isinstance(b, Lit) and isinstance(b.value, bool) else Unknown("bool")
            b = self.eval(right, env)
            if isinstance(b, Lit) and isinstance(b.value, bool) and b.value == (op == "||"):
                return Lit(b.value)
            return Unknown("bool")
        b = self.eval(right, env)
        if op == "??":
            if isinstance(a, Lit) and a.value is None:
                return b
            return a if isinstance(a, (Lit, Obj, Arr)) else _alt([a, b])
        if op in ("==", "!=", "=~", "!~", "<", ">", "<=", ">="):
            if op in ("==", "!=") and is_known(a) and is_known(b):
                same = to_plain(a) == to_plain(b)
                return Lit(same if op == "==" else not same)
            if isinstance(a, Lit) and isinstance(b, Lit):
                result = _compare(op, a.value, b.value)
                if result is not None:
                    return Lit(result)
            return Unknown("bool")
        if (
            isinstance(a, Lit) and isinstance(b, Lit)
            and isinstance(a.value, int) and isinstance(b.value, int)
            and not isinstance(a.value, bool) and not isinstance(b.value, bool)
        ):
            result_int = _arith(op, a.value, b.value)
            if result_int is not None:
                return Lit(result_int)
        return Unknown("int")

    def _ternary(self, node: ts.Node, env: Mapping[str, Value]) -> Value:
        cond = node.child_by_field_name("condition")
        cons = node.child_by_field_name("consequence")
        alt = node.child_by_field_name("alternative")
        if cond is None or cons is None or alt is None:
            return ANY
        c = self.eval(cond, env)
        if isinstance(c, Lit) and isinstance(c.value, bool):
            return self.eval(cons if c.value else alt, env)
        return _alt([self.eval(cons, env), self.eval(alt, env)])

    def _tail_access(self, node: ts.Node, access: Callable[[Value], Value], env: Mapping[str, Value]) -> Value:
        """`c ? x : a.b` as Bicep means it: the access applies to the last alternative only."""
        cond = node.child_by_field_name("condition")
        cons = node.child_by_field_name("consequence")
        alt = node.child_by_field_name("alternative")
        if cond is None or cons is None or alt is None:
            return ANY

        def last() -> Value:
            if alt.type == "ternary_expression":
                return self._tail_access(alt, access, env)
            return access(self.eval(alt, env))

        c = self.eval(cond, env)
        if isinstance(c, Lit) and isinstance(c.value, bool):
            return self.eval(cons, env) if c.value else last()
        return _alt([self.eval(cons, env), last()])

    def _subscript(self, node: ts.Node, env: Mapping[str, Value]) -> Value:
        obj = node.child_by_field_name("object")
        index = node.child_by_field_name("index")
        if obj is None or index is None:
            return ANY
        base = self.eval(obj, env)
        key = self.eval(index, env)
        if isinstance(base, Ref) and base.collection:
            return Ref(base.target, collection=False)
        if isinstance(key, Lit):
            if isinstance(base, Arr) and isinstance(key.value, int) and not isinstance(key.value, bool):
                if base.open:
                    return base.items[0].value if base.items else ANY
                if 0 <= key.value < len(base.items):  # ARM has no negative indices
                    return base.items[key.value].value
                self.problem(node, f"index {key.value} is out of range for an array of {len(base.items)}")
                return ANY
            if isinstance(key.value, str):
                return self.member(base, key.value, env, node)
        return ANY

    def _call(self, node: ts.Node, env: Mapping[str, Value]) -> Value:
        name = call_name(node)
        args_node = node.child_by_field_name("arguments")
        arg_nodes = kids(args_node) if args_node is not None else []
        if name is None or "." in name:
            return ANY
        fn = BUILTINS.get(name)
        if fn is None:
            return ANY
        if any(a.type == "lambda_expression" for a in arg_nodes):
            return fn([ANY for _ in arg_nodes]) if name not in ("map", "filter", "sort") else Unknown("array")
        return fn([self.eval(a, env) for a in arg_nodes])

    def _for(self, node: ts.Node, env: Mapping[str, Value]) -> Value:
        loop = loop_parts(node)
        if loop is None:
            return Unknown("array")
        iterable = self.eval(loop.iterable, env)
        if not isinstance(iterable, Arr) or iterable.open:
            # one representative item keeps the shape of the elements checkable
            scope = dict(env)
            if loop.item:
                scope[loop.item] = iterable.items[0].value if isinstance(iterable, Arr) else ANY
            if loop.index:
                scope[loop.index] = Unknown("int")
            return Arr([Item(self.eval(loop.body, scope), pos(loop.body), self.file.name)], open=True)
        out: list[Item] = []
        for i, item in enumerate(iterable.items):
            scope = dict(env)
            if loop.item:
                scope[loop.item] = item.value
            if loop.index:
                scope[loop.index] = Lit(i)
            if loop.condition is not None:
                keep = self.eval(loop.condition, scope)
                if not isinstance(keep, Lit):
                    return Unknown("array")
                if keep.value is not True:
                    continue
            out.append(Item(self.eval(loop.body, scope), pos(loop.body), self.file.name))
        return Arr(out)

    def loop_envs(self, loop: Loop | None, env: Mapping[str, Value] | None = None) -> list[dict[str, Value]] | None:
        """One scope per iteration of a resource/module loop; None when the iterable is not known."""
        base = dict(env or {})
        if loop is None:
            return [base]
        iterable = self.eval(loop.iterable, base)
        if not isinstance(iterable, Arr):
            return None
        out = []
        for i, item in enumerate(iterable.items):
            scope = dict(base)
            if loop.item:
                scope[loop.item] = item.value
            if loop.index:
                scope[loop.index] = Lit(i)
            out.append(scope)
        return out


def _alt(options: Sequence[Value]) -> Value:
    flat: list[Value] = []
    for o in options:
        for x in (o.options if isinstance(o, Alt) else (o,)):
            if x not in flat:
                flat.append(x)
    return flat[0] if len(flat) == 1 else Alt(tuple(flat))


def module_output_kinds(file: BicepFile | None) -> Value:
    """A module's outputs known only by their declared kinds (static mode)."""
    if file is None:
        return ANY
    items: dict[str, Item] = {}
    for name, decl in file.outputs.items():
        type_node = decl.type_node
        kind: Kind = PRIMITIVE_KINDS.get(text(type_node), "any") if type_node is not None else "any"
        items[name] = Item(Unknown(kind, origin=f"output {name}"), pos(decl.name_node))
    return Obj(items)


def _constraint(decl: Decl, name: str) -> int | None:
    args = decl.decorator_args(name)
    if not args:
        return None
    v = literal(args[0])
    return v.value if isinstance(v, Lit) and isinstance(v.value, int) and not isinstance(v.value, bool) else None


def param_problems(value: Value, decl: Decl) -> list[tuple[str, str]]:
    """(severity, message) for each way a value can break a param's type, @allowed or length/value bounds."""
    expect = static_param(decl)
    type_node = decl.type_node
    nullable = type_node is not None and text(type_node).endswith("?")
    out: list[tuple[str, str]] = []
    options = value.options if isinstance(value, Alt) else (value,)
    for v in options:
        kind = kind_of(v)
        origin = f" ({v.origin})" if isinstance(v, Unknown) and v.origin else ""
        if kind == "any":
            continue
        if kind == "null":
            if not nullable:
                out.append(("error", f"null given, but {decl.name} is not nullable"))
            continue
        if expect.kind != "any" and kind != expect.kind:
            out.append(("error", f"{decl.name} expects {expect.kind}, got {kind}{origin}"))
            continue
        if expect.allowed is not None:
            values: list[Value] = [i.value for i in v.items] if isinstance(v, Arr) else [v]
            for one in values:
                if isinstance(one, Lit) and one.value not in expect.allowed:
                    allowed = list(expect.allowed)
                    out.append(("error", f"{one.value!r} is not an @allowed value of {decl.name} {allowed}"))
                elif isinstance(one, Unknown):
                    if one.allowed is None:
                        out.append((
                            "warning",
                            f"{decl.name} allows only {list(expect.allowed)}, but the value{origin} is unconstrained",
                        ))
                    else:
                        extra = [a for a in one.allowed if a not in expect.allowed]
                        if extra:
                            out.append(("error", f"{decl.name} does not allow {extra}{origin}"))
        size: int | None = None
        if isinstance(v, Lit) and isinstance(v.value, str):
            size = len(v.value)
        elif isinstance(v, Arr) and not v.open:
            size = len(v.items)
        lo, hi = _constraint(decl, "minLength"), _constraint(decl, "maxLength")
        if size is not None and lo is not None and size < lo:
            out.append(("error", f"{decl.name} needs length >= {lo}, got {size}"))
        if size is not None and hi is not None and size > hi:
            out.append(("error", f"{decl.name} needs length <= {hi}, got {size}"))
        if isinstance(v, Lit) and isinstance(v.value, int) and not isinstance(v.value, bool):
            lo, hi = _constraint(decl, "minValue"), _constraint(decl, "maxValue")
            if lo is not None and v.value < lo:
                out.append(("error", f"{decl.name} needs a value >= {lo}, got {v.value}"))
            if hi is not None and v.value > hi:
                out.append(("error", f"{decl.name} needs a value <= {hi}, got {v.value}"))
    return out
