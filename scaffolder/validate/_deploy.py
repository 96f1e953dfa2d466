"""Concrete mode of the Bicep evaluator: main.bicep as the resources a resource-group deployment would PUT.

The same Evaluator `check` uses, with every input known: parameter values (the parameters file with azd's
${VAR} substitutions filled in), `resourceGroup()`/`subscription()`, and the real `uniqueString`/`guid`
(ports of ARM's algorithms). What ARM knows only once a resource exists (`identity.properties.principalId`)
stays a `Runtime` value, and functions of it (`guid(scope, principalId, role)`) a `Deferred` one; the
provisioner fills both in while applying. Anything else the evaluator cannot follow raises
`UnsupportedBicep` naming file:line and the construct, so a plan never silently differs from what ARM
would deploy.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import tree_sitter as ts

from scaffolder.validate._eval import (
    BUILTINS,
    Alt,
    Arr,
    Evaluator,
    Item,
    Lit,
    Obj,
    Ref,
    Unknown,
    Value,
    bicep_str,
    from_json,
    is_known,
    param_problems,
    static_param,
    to_plain,
)
from scaffolder.validate._model import (
    BicepFile,
    Module,
    Resource,
    call_name,
    kids,
    object_get,
    object_properties,
    pos,
    property_value,
    string_parts,
    string_value,
    text,
)
from scaffolder.validate._project import AZD_VAR, Project, azd_converted, load_project
from scaffolder.validate.bicepfn import guid, unique_string


class UnsupportedBicep(Exception):
    """A construct the concrete evaluator cannot follow: where it is and what it is."""

    def __init__(self, where: str, construct: str) -> None:
        super().__init__(f"{where}: {construct}")
        self.where = where
        self.construct = construct


class InvalidParameter(UnsupportedBicep):
    """A parameter value its declaration rejects (type, @allowed, @minValue/@maxValue, @minLength/@maxLength)."""


class InvalidTemplate(UnsupportedBicep):
    """Bicep the compiler itself rejects (a read of an output the module does not declare): not a limitation."""


@dataclass
class ModuleOutputs(Obj):
    """A module instance's outputs: reading one it does not declare is the compiler's error, not an unknown."""

    module: str = ""


_SPREAD = re.compile(r"[{\[,]\s*\.\.\.\s*[A-Za-z_({\[]")


def _syntax_error(file: BicepFile) -> UnsupportedBicep:
    """The first ERROR or MISSING node of a file that does not parse, at its own line."""
    stack = [file.root]
    while stack:
        node = stack.pop()
        if node.type == "ERROR" or node.is_missing:
            body = text(node)
            snippet = body.strip().split("\n", 1)[0][:40]
            spread = _SPREAD.search(body)
            if spread is not None:
                # The operator is valid Bicep (learn.microsoft.com/azure/azure-resource-manager/bicep/operator-spread)
                # that the tree-sitter grammar does not parse: named, at its own line.
                line = node.start_point[0] + 1 + body.count("\n", 0, body.index("...", spread.start()))
                return UnsupportedBicep(f"{file.name}:{line}", "the spread operator `...` (not in the Bicep subset "
                                        "scaffolder parses)")
            if node.is_missing:
                construct = f"a syntax error (missing `{node.type}`)"
            else:
                construct = f"a syntax error at `{snippet}`" if snippet else "a syntax error"
            return UnsupportedBicep(_where(file, node), construct + " (run `scaffolder check`)")
        stack.extend(reversed([c for c in node.children if c.has_error or c.is_missing or c.type == "ERROR"]))
    return UnsupportedBicep(f"{file.name}:1", "a syntax error (run `scaffolder check`)")


@dataclass(frozen=True)
class Runtime(Unknown):
    """A property of a resource that ARM reports only once it exists: (resource id, path into its JSON)."""

    rid: str = ""
    path: tuple[str | int, ...] = ()

    def __str__(self) -> str:
        # Shown in previews as the Bicep read it waits for, e.g. <identity.properties.principalId>.
        return f"<{'.'.join([self.origin.split('.')[0] or self.rid, *map(str, self.path)])}>"


@dataclass(frozen=True)
class Deferred(Unknown):
    """A function of runtime values, computed once they exist: `guid`, `uniqueString`, `concat`, ..."""

    fn: str = ""
    args: tuple[object, ...] = ()

    def __str__(self) -> str:
        # Shown in previews as the Bicep call it waits for, e.g. guid('/subscriptions/...', <identity...>, '...').
        shown = (f"'{a}'" if isinstance(a, str) else str(a) for a in self.args)
        return f"{self.fn}({', '.join(shown)})"

    def apply(self, args: Sequence[object]) -> str:
        """The function's value once its runtime arguments are known (args in the same order)."""
        text = [bicep_str(a) for a in args]
        if self.fn in ("guid", "uniqueString"):
            return guid(*text) if self.fn == "guid" else unique_string(*text)
        if self.fn in ("toLower", "toUpper"):
            return text[0].lower() if self.fn == "toLower" else text[0].upper()
        if self.fn == "format":
            out = text[0]
            for i, arg in enumerate(text[1:]):
                out = out.replace("{" + str(i) + "}", arg)
            return out
        return "".join(text)  # concat and string interpolation


@dataclass(frozen=True)
class Scope:
    """Where the deployment runs: subscription, resource group and its location."""

    subscription_id: str
    resource_group: str
    location: str

    @property
    def resource_group_id(self) -> str:
        """`resourceGroup().id`."""
        return f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"


@dataclass
class Deployed:
    """One resource the deployment PUTs, with where it was declared."""

    key: str
    type: str
    api_version: str
    parent_id: str
    name: str | Deferred
    extension: bool
    body: dict[str, object]
    where: str
    depends_on: set[str] = field(default_factory=set)
    batch: str | None = None
    # `@onlyIfNotExists()`: ARM creates it when missing and never updates one that exists.
    create_only: bool = False

    def id_for(self, name: str) -> str:
        """The ARM id of the resource given its (resolved) name."""
        return resource_id(self.type, self.parent_id, name, self.extension)


def resource_id(rtype: str, parent_id: str, name: str, extension: bool = False) -> str:
    """The ARM id of a resource of rtype named name under parent_id (its scope, for an extension resource)."""
    if extension:
        return f"{parent_id}/providers/{rtype}/{name}"
    if rtype.lower() == "microsoft.resources/resourcegroups":
        return f"{parent_id}/resourceGroups/{name}"
    provider, *segments = rtype.split("/")
    if len(segments) == 1:
        return f"{parent_id}/providers/{provider}/{segments[0]}/{name}"
    return f"{parent_id}/{segments[-1]}/{name}"


@dataclass
class Evaluated:
    """The deployment: resources in declaration order, main.bicep's outputs, runtime-only reads."""

    resources: list[Deployed]
    outputs: dict[str, object]
    output_types: dict[str, str]
    reads: dict[str, tuple[str, str, str]]  # resource id -> (type, api version, where) of `existing` reads
    # main.bicep's `@secure()` outputs (ARM keeps no value for them) and the string values of every
    # `@secure()` parameter, so callers can withhold anything that carries one.
    secure_outputs: frozenset[str] = frozenset()
    secret_values: frozenset[str] = frozenset()


@dataclass
class _Instance:
    """One evaluated file: main.bicep, or a module call (one per loop iteration)."""

    file: BicepFile
    label: str
    evaluator: ConcreteEvaluator
    keys: list[str] = field(default_factory=list)


@dataclass
class _Decl:
    """One resource instance: its declaration, loop index and computed id."""

    res: Resource
    index: int | None
    env: dict[str, Value]
    parent_id: str
    name: str | Deferred
    extension: bool
    key: str

    def id(self) -> str | Deferred:
        if isinstance(self.name, Deferred):
            return Deferred("string", fn="concat", args=(resource_id(self.res.type, self.parent_id, "", self.extension),
                                                         self.name))
        return resource_id(self.res.type, self.parent_id, self.name, self.extension)


def _accessor(node: ts.Node) -> str:
    """The member an access reads: `.name` or `['name']` give name; any other index gives ""."""
    if node.type == "member_expression":
        prop = node.child_by_field_name("property")
        return text(prop) if prop is not None else ""
    index = node.child_by_field_name("index")
    return (string_value(index) or "") if index is not None and index.type == "string" else ""


def _where(file: BicepFile, node: ts.Node | None) -> str:
    line = pos(node)[0] if node is not None else 1
    return f"{file.name}:{line}"


def _strings(data: object) -> list[str]:
    """Every string inside plain data (a secure object's values)."""
    if isinstance(data, str):
        return [data]
    if isinstance(data, dict):
        return [s for v in data.values() for s in _strings(v)]
    if isinstance(data, list):
        return [s for v in data for s in _strings(v)]
    return []


def _is_runtime(value: Value) -> bool:
    return isinstance(value, (Runtime, Deferred))


class ConcreteEvaluator(Evaluator):
    """Evaluator with deployment-time values: ids, resourceGroup(), uniqueString/guid ports, runtime reads."""

    def __init__(self, walker: Deployment, inst_label: str, file: BicepFile, params: Mapping[str, Value]) -> None:
        super().__init__(file, params, module_outputs=lambda m: walker.module_outputs(self, m), defaults=True)
        self.walker = walker
        self.label = inst_label
        self.node: ts.Node | None = None  # expression being evaluated, for error positions

    def fail(self, node: ts.Node | None, construct: str) -> UnsupportedBicep:
        """The error for a construct at node."""
        return UnsupportedBicep(_where(self.file, node or self.node), construct)

    def param(self, name: str) -> Value:
        """A parameter: given, else its default; one without either cannot be deployed."""
        if name not in self.params:
            decl = self._param_decls[name]
            type_node = decl.type_node
            if decl.value is None and type_node is not None and text(type_node).endswith("?"):
                return Lit(None)  # a nullable parameter without a value is null, as ARM binds it
            if decl.value is None:
                raise self.fail(decl.name_node, f"parameter {name} has no value and no default")
        return super().param(name)

    def member(self, base: Value, prop: str, env: Mapping[str, Value], node: ts.Node | None = None) -> Value:
        """`base.prop`, following runtime values and indexed resource instances."""
        if isinstance(base, Runtime):
            return Runtime("any", origin=base.origin, rid=base.rid, path=(*base.path, prop))
        if isinstance(base, Ref) and not base.collection:
            return self._instance_member(base, prop, node)
        if isinstance(base, ModuleOutputs) and prop.lower() not in {k.lower() for k in base.items}:
            safe = node is not None and any("?" in c.type for c in node.children if not c.is_named)
            if not safe:
                known = ", ".join(sorted(base.items)) or "none"
                raise InvalidTemplate(
                    _where(self.file, node or self.node),
                    f"module {base.module} has no output `{prop}` (it declares: {known})",
                )
        return super().member(base, prop, env, node)

    def _instance_member(self, ref: Ref, prop: str, node: ts.Node | None) -> Value:
        index = ref.index if isinstance(ref, IndexedRef) else None
        target = ref.target
        if isinstance(target, Module):
            if prop == "name":
                return self.walker.module_name(self, target, index)
            if prop != "outputs":
                raise self.fail(node, f"module member .{prop} (only .outputs and .name are followed)")
            return self.walker.module_outputs(self, target, index)
        decl = self.walker.declaration(self, target, index)
        if prop == "id":
            rid = decl.id()
            return Lit(rid) if isinstance(rid, str) else rid
        if prop == "name":
            return Lit(decl.name) if isinstance(decl.name, str) else decl.name
        if prop == "type":
            return Lit(target.type)
        if prop == "apiVersion":
            return Lit(target.api_version)
        rid = decl.id()
        if not isinstance(rid, str):
            raise self.fail(node, f"{target.name}.{prop} of a resource whose name is known only after deployment")
        if target.existing:
            self.walker.reads[rid] = (target.type, target.api_version or "", _where(self.file, target.decl.node))
        return Runtime("any", origin=f"{target.name}.{prop}", rid=rid, path=(prop,))

    def _subscript(self, node: ts.Node, env: Mapping[str, Value]) -> Value:
        obj = node.child_by_field_name("object")
        index = node.child_by_field_name("index")
        if obj is None or index is None:
            return super()._subscript(node, env)
        base = self.eval(obj, env)
        key = self.eval(index, env)
        if isinstance(base, Ref) and base.collection:
            if not (isinstance(key, Lit) and isinstance(key.value, int)):
                raise self.fail(node, "a resource collection indexed by a value not known before deployment")
            return IndexedRef(base.target, collection=False, index=key.value)
        if isinstance(base, Runtime) and isinstance(key, Lit) and isinstance(key.value, (str, int)):
            return Runtime("any", origin=base.origin, rid=base.rid, path=(*base.path, key.value))
        return super()._subscript(node, env)

    def object(self, node: ts.Node, env: Mapping[str, Value]) -> Obj:
        """An object literal whose keys may be interpolated (`'${identity.id}': {}`), as ARM evaluates them."""
        items: dict[str, Item] = dict(super().object(node, env).items)
        for prop in node.named_children:
            first = prop.named_children[0] if prop.type == "object_property" and prop.named_children else None
            value = property_value(prop) if first is not None else None
            if first is None or value is None or first.type != "string" or string_value(first) is not None:
                continue  # plain keys were read above; nested resource declarations are not values
            key = self._string(first, env)
            if not (isinstance(key, Lit) and isinstance(key.value, str)):
                # e.g. a user-assigned identity keyed by an id known only after deployment: never dropped silently
                raise self.fail(first, "an object key not known before deployment")
            items[key.value] = Item(self.eval(value, env), pos(prop), self.file.name)
        return Obj(items)

    def _string(self, node: ts.Node, env: Mapping[str, Value]) -> Value:
        pieces: list[object] = []
        deferred = False
        for part in string_parts(node):
            if isinstance(part, str):
                pieces.append(part)
                continue
            v = self.eval(part, env)
            if isinstance(v, Lit):
                pieces.append(bicep_str(v.value))
            elif _is_runtime(v):
                pieces.append(v)
                deferred = True
            else:
                raise self.fail(part, f"interpolation of a value not known before deployment: {text(part)[:60]}")
        if deferred:
            return Deferred("string", fn="concat", args=tuple(pieces))
        return Lit("".join(str(p) for p in pieces))

    def _call(self, node: ts.Node, env: Mapping[str, Value]) -> Value:
        name = call_name(node) or ""
        args_node = node.child_by_field_name("arguments")
        arg_nodes = kids(args_node) if args_node is not None else []
        scope = self.walker.scope
        if name == "resourceGroup":
            if arg_nodes:
                raise self.fail(node, "resourceGroup(...) of another resource group")
            return from_json(
                {
                    "id": scope.resource_group_id,
                    "name": scope.resource_group,
                    "location": scope.location,
                    "type": "Microsoft.Resources/resourceGroups",
                },
                pos(node),
            )
        if name == "subscription":
            if arg_nodes:
                raise self.fail(node, "subscription(...) of another subscription")
            sub = f"/subscriptions/{scope.subscription_id}"
            return from_json({"id": sub, "subscriptionId": scope.subscription_id}, pos(node))
        args = [self.eval(a, env) for a in arg_nodes]
        if name in ("uniqueString", "guid", "toLower", "toUpper", "concat", "format") and any(
            _is_runtime(a) for a in args
        ):
            if not all(isinstance(a, Lit) or _is_runtime(a) for a in args):
                raise self.fail(node, f"{name}() over values not known before deployment")
            return Deferred("string", fn=name, args=tuple(a.value if isinstance(a, Lit) else a for a in args))
        if name in ("uniqueString", "guid"):
            if not args or not all(isinstance(a, Lit) and isinstance(a.value, str) for a in args):
                raise self.fail(node, f"{name}() over values not known before deployment")
            values = [str(a.value) for a in args if isinstance(a, Lit)]
            return Lit(unique_string(*values) if name == "uniqueString" else guid(*values))
        if name in ("subscriptionResourceId", "resourceId", "tenantResourceId"):
            return self._resource_id(node, name, args)
        if name in BUILTINS:
            result = BUILTINS[name](args)
            if isinstance(result, Unknown) and not _is_runtime(result):
                raise self.fail(node, f"the function {name}() here")
            return result
        raise self.fail(node, f"function {name or text(node)[:40]}()")

    def _resource_id(self, node: ts.Node, name: str, args: Sequence[Value]) -> Value:
        plain = [a.value for a in args if isinstance(a, Lit)]
        if len(plain) != len(args) or not all(isinstance(p, str) for p in plain) or len(plain) < 2:
            raise self.fail(node, f"{name}() with arguments not known before deployment")
        parts = [str(p) for p in plain]
        scope = self.walker.scope
        if name == "resourceId" and len(parts) >= 2 and "/" not in parts[0] and "." not in parts[0]:
            raise self.fail(node, "resourceId() across subscriptions or resource groups")
        rtype, names = parts[0], parts[1:]
        provider, *segments = rtype.split("/")
        if len(segments) != len(names):
            raise self.fail(node, f"{name}(): {len(names)} names for type {rtype}")
        tail = "/".join(f"{s}/{n}" for s, n in zip(segments, names, strict=True))
        base = {
            "subscriptionResourceId": f"/subscriptions/{scope.subscription_id}",
            "tenantResourceId": "",
            "resourceId": scope.resource_group_id,
        }[name]
        return Lit(f"{base}/providers/{provider}/{tail}")


@dataclass
class IndexedRef(Ref):
    """One instance of a resource or module collection: `sym[i]`."""

    index: int = 0


class Deployment:
    """Walks main.bicep and its modules the way a resource-group deployment would."""

    def __init__(self, project: Project, scope: Scope) -> None:
        self.project = project
        self.scope = scope
        self.resources: list[Deployed] = []
        self.reads: dict[str, tuple[str, str, str]] = {}
        self._decls: dict[tuple[int, str, int | None], _Decl] = {}
        self._modules: dict[tuple[int, str, int | None], _Instance] = {}
        self._instances: dict[int, _Instance] = {}
        self._walked: set[tuple[int, str, int | None]] = set()
        self.secret_values: set[str] = set()

    # -- instances --------------------------------------------------------------------------------------
    def _instance(self, file: BicepFile, label: str, params: Mapping[str, Value]) -> _Instance:
        if file.target_scope not in (None, "resourceGroup"):
            raise UnsupportedBicep(f"{file.name}:1", f"targetScope '{file.target_scope}'")
        if file.unhandled:
            node = file.unhandled[0]
            statement = text(node).split("\n", 1)[0].strip()[:60]
            raise UnsupportedBicep(_where(file, node), f"the statement `{statement}`")
        evaluator = ConcreteEvaluator(self, label, file, params)
        inst = _Instance(file, label, evaluator)
        self._instances[id(evaluator)] = inst
        declared = set(file.params)
        unknown = sorted(set(params) - declared)
        if unknown:
            raise UnsupportedBicep(f"{file.name}:1", f"values given for undeclared parameters {unknown}")
        self._bind(inst)
        return inst

    def _bind(self, inst: _Instance) -> None:
        """Check every parameter's value against its declaration before anything is planned.

        As ARM's template validation does: a wrong value is an error, never a silently different deployment.
        """
        ev = inst.evaluator
        for name, decl in inst.file.params.items():
            value = ev.param(name)
            for severity, message in param_problems(value, decl):
                if severity == "error":
                    raise InvalidParameter(_where(inst.file, decl.name_node), f"parameter {message}")
            if decl.decorator("secure") is not None and is_known(value):
                plain = to_plain(value)
                found = [plain] if isinstance(plain, str) else _strings(plain)
                self.secret_values |= {v for v in found if len(v) >= 4}

    def run(self, params: Mapping[str, Value]) -> Evaluated:
        """Evaluate main.bicep with these parameter values: every resource and output."""
        main = self.project.main
        if main is None:
            raise UnsupportedBicep("infra/main.bicep:1", "no infra/main.bicep")
        if any(f.root.has_error for f in self.project.files.values()):
            bad = next(f for f in self.project.files.values() if f.root.has_error)
            raise _syntax_error(bad)
        root = self._instance(main, "", params)
        self._walk(root)
        outputs: dict[str, object] = {}
        types: dict[str, str] = {}
        secure: set[str] = set()
        for name, decl in main.outputs.items():
            if decl.value is None:
                continue
            if decl.decorator("secure") is not None:
                secure.add(name)
            value = self._final(root.evaluator, root.evaluator.eval(decl.value), decl.value)
            outputs[name] = value
            type_node = decl.type_node
            types[name] = text(type_node) if type_node is not None else "any"
        return Evaluated(
            self.resources, outputs, types, self.reads, frozenset(secure), frozenset(self.secret_values)
        )

    def _walk(self, inst: _Instance) -> None:
        for res in inst.file.all_resources():
            for index in self._indices(inst, res):
                self.declaration(inst.evaluator, res, index, emit=True)
        for module in inst.file.modules:
            for index in self._indices(inst, module):
                self._module(inst.evaluator, module, index)

    def _indices(self, inst: _Instance, decl: Resource | Module) -> list[int | None]:
        loop = decl.parts.loop
        if loop is None:
            return [None]
        if isinstance(decl, Resource) and decl.parent is not None:
            raise inst.evaluator.fail(loop.node, "a loop over a nested child resource")
        self._start_known(inst.evaluator, loop.iterable, "a loop")
        envs = inst.evaluator.loop_envs(loop)
        if envs is None:
            raise inst.evaluator.fail(loop.iterable, "a loop over an array not known before deployment")
        return list(range(len(envs)))

    def _env(self, ev: ConcreteEvaluator, decl: Resource | Module, index: int | None) -> dict[str, Value] | None:
        """The scope of one instance, or None when its `if` condition is false."""
        env: dict[str, Value] = {}
        if decl.parts.loop is not None:
            envs = ev.loop_envs(decl.parts.loop)
            if envs is None or index is None or not 0 <= index < len(envs):
                raise ev.fail(decl.decl.node, f"{decl.name}[{index}] is outside its loop")
            env = envs[index]
        if decl.parts.condition is not None:
            self._start_known(ev, decl.parts.condition, "a condition")
            keep = ev.eval(decl.parts.condition, env)
            if not (isinstance(keep, Lit) and isinstance(keep.value, bool)):
                raise ev.fail(decl.parts.condition, "a condition not known before deployment")
            if not keep.value:
                return None
        return env

    def _start_known(self, ev: ConcreteEvaluator, node: ts.Node, what: str, seen: frozenset[str] = frozenset()) -> None:
        """Refuse a loop source or condition that reads a module's outputs or a resource's properties.

        The Bicep compiler requires those to be calculable at the start of the deployment, so it rejects them
        even where this evaluator could compute the value: planning them would deploy what `azd up` refuses.
        """
        if node.type in ("member_expression", "subscript_expression"):
            # The access chain from its root outwards: `mods[0].outputs.x` is mods, [0], .outputs, .x.
            chain: list[ts.Node] = []
            root: ts.Node | None = node
            while root is not None and root.type in ("member_expression", "subscript_expression"):
                chain.insert(0, root)
                index = root.child_by_field_name("index")
                if index is not None:
                    self._start_known(ev, index, what, seen)
                root = root.child_by_field_name("object")
            target = ev._symbols.get(text(root)) if root is not None and root.type == "identifier" else None
            if target is None:
                if root is not None:
                    self._start_known(ev, root, what, seen)
                return
            if target.parts.loop is not None and chain[0].type == "subscript_expression":
                chain = chain[1:]  # one instance of a resource or module collection: its members are what count
            name = _accessor(chain[0]) if chain else ""
            allowed = ("name",) if isinstance(target, Module) else ("id", "name", "type", "apiVersion")
            if name not in allowed:
                raise ev.fail(node, f"{what} over `{text(node)[:60]}`, which the Bicep compiler rejects: "
                              f"it must be known at the start of the deployment (only {', '.join(allowed)} is)")
            return
        if node.type == "identifier":
            var = ev.file.variables.get(text(node))
            if var is not None and var.value is not None and var.name not in seen:
                self._start_known(ev, var.value, what, seen | {var.name})
            return
        for child in node.named_children:
            self._start_known(ev, child, what, seen)

    # -- resources --------------------------------------------------------------------------------------
    def declaration(self, ev: ConcreteEvaluator, res: Resource, index: int | None, *, emit: bool = False) -> _Decl:
        """One resource instance (id and name), emitted as a Deployed resource on the walk."""
        mem = (id(ev), res.name if res.parent is None else f"{id(res.decl.node)}", index)
        decl = self._decls.get(mem)
        if decl is None:
            decl = self._declare(ev, res, index)
            self._decls[mem] = decl
        if emit and mem not in self._walked:
            self._walked.add(mem)
            self._emit(ev, decl)
        return decl

    def _declare(self, ev: ConcreteEvaluator, res: Resource, index: int | None) -> _Decl:
        body = res.parts.body
        if body is None:
            raise ev.fail(res.decl.node, f"resource {res.name} without an object body")
        if not res.api_version:
            raise ev.fail(res.decl.node, f"resource {res.name} without an API version")
        env = self._env(ev, res, index)
        key = f"{ev.label}{res.name}" + (f"[{index}]" if index is not None else "")
        name_node = object_get(body, "name")
        if name_node is None:
            raise ev.fail(body, f"resource {res.name} without a name")
        name = ev.eval(name_node, env or {})
        if isinstance(name, Lit) and isinstance(name.value, str):
            short: str | Deferred = name.value
        elif isinstance(name, Deferred):
            short = name
        else:
            raise ev.fail(name_node, f"name of {res.name} is not known before deployment")
        parent_node, scope_node = object_get(body, "parent"), object_get(body, "scope")
        extension = False
        parent_id = self.scope.resource_group_id
        if res.parent is not None:
            parent_id = self._id_of(ev, self.declaration(ev, res.parent, None), res.decl.node)
        elif parent_node is not None:
            parent_id = self._ref_id(ev, parent_node, env or {})
        elif scope_node is not None:
            target = ev.eval(scope_node, env or {})
            if isinstance(target, Obj) and isinstance(target.items.get("type", Item(Lit(""), (0, 0))).value, Lit):
                scope_type = to_plain(target.items["type"].value) if "type" in target.items else ""
                if scope_type != "Microsoft.Resources/resourceGroups":
                    raise ev.fail(scope_node, "a scope other than this resource group")
            else:
                parent_id = self._ref_id(ev, scope_node, env or {})
                extension = True
        elif isinstance(short, str) and "/" in short:
            # `name: 'account/deployment'` without `parent`: the leading segments name the parents.
            provider, *segments = res.type.split("/")
            names = short.split("/")
            if len(names) != len(segments):
                raise ev.fail(name_node, f"name {short!r} does not fit type {res.type}")
            parent_id = f"{self.scope.resource_group_id}/providers/{provider}/" + "/".join(
                f"{s}/{n}" for s, n in zip(segments[:-1], names[:-1], strict=True)
            )
            short = names[-1]
            if len(segments) == 1:
                parent_id = self.scope.resource_group_id
        if (
            res.type.count("/") > 1
            and res.parent is None
            and parent_node is None
            and parent_id == self.scope.resource_group_id
        ):
            raise ev.fail(res.decl.node, f"child resource {res.name} without `parent`")
        return _Decl(res, index, env or {}, parent_id, short, extension, key)

    def _ref_id(self, ev: ConcreteEvaluator, node: ts.Node, env: Mapping[str, Value]) -> str:
        value = ev.eval(node, env)
        if isinstance(value, Ref) and not value.collection:
            index = value.index if isinstance(value, IndexedRef) else None
            if isinstance(value.target, Resource):
                return self._id_of(ev, self.declaration(ev, value.target, index), node)
        raise ev.fail(node, f"parent/scope {text(node)[:60]} is not a resource symbol")

    def _id_of(self, ev: ConcreteEvaluator, decl: _Decl, node: ts.Node) -> str:
        rid = decl.id()
        if not isinstance(rid, str):
            raise ev.fail(node, "a parent or scope whose name is known only after deployment")
        return rid

    def _emit(self, ev: ConcreteEvaluator, decl: _Decl) -> None:
        res = decl.res
        if res.existing:
            return
        env = self._env(ev, res, decl.index)
        if env is None:
            return
        body_node = res.parts.body
        assert body_node is not None
        ev.node = body_node
        body: dict[str, object] = {}
        depends: set[str] = set()
        for key, prop, value_node in object_properties(body_node):
            if key in ("name", "parent", "scope"):
                continue
            if key == "dependsOn":
                depends |= self._depends(ev, value_node, env)
                continue
            body[key] = self._final(ev, ev.eval(value_node, env), prop)
        batch = None
        size = res.decl.decorator_args("batchSize")
        if size:
            n = ev.eval(size[0])
            if not (isinstance(n, Lit) and n.value == 1):
                raise ev.fail(size[0], "@batchSize other than 1")
            batch = f"{ev.label}{res.name}"
        inst = self._instances[id(ev)]
        inst.keys.append(decl.key)
        self.resources.append(
            Deployed(
                key=decl.key,
                type=res.type,
                api_version=res.api_version or "",
                parent_id=decl.parent_id,
                name=decl.name,
                extension=decl.extension,
                body=body,
                where=_where(ev.file, res.decl.node),
                depends_on=depends,
                batch=batch,
                create_only=res.decl.decorator("onlyIfNotExists") is not None,
            )
        )

    def _depends(self, ev: ConcreteEvaluator, node: ts.Node, env: Mapping[str, Value]) -> set[str]:
        """Keys of the resources an explicit `dependsOn` names (a module stands for everything it deploys)."""
        out: set[str] = set()
        for item in kids(node) if node.type == "array" else [node]:
            value = ev.eval(item, env)
            if not isinstance(value, Ref):
                raise ev.fail(item, f"dependsOn entry {text(item)[:40]}")
            indices: list[int | None]
            if isinstance(value, IndexedRef):
                indices = [value.index]
            elif value.collection:
                indices = self._indices(self._instances[id(ev)], value.target)
            else:
                indices = [None]
            for index in indices:
                if isinstance(value.target, Module):
                    child = self._module(ev, value.target, index)
                    if child is not None:
                        out |= self._all_keys(child)
                else:
                    decl = self.declaration(ev, value.target, index)
                    out.add(decl.key)
        return out

    def _all_keys(self, inst: _Instance) -> set[str]:
        keys = set(inst.keys)
        for (owner, _name, _index), child in self._modules.items():
            if owner == id(inst.evaluator):
                keys |= self._all_keys(child)
        return keys

    # -- modules ----------------------------------------------------------------------------------------
    def _module(self, ev: ConcreteEvaluator, module: Module, index: int | None) -> _Instance | None:
        mem = (id(ev), module.name, index)
        if mem in self._modules:
            return self._modules[mem]
        env = self._env(ev, module, index)
        if env is None:
            return None
        body = module.parts.body
        target = self.project.module_file(ev.file, module)
        if body is None or target is None:
            raise ev.fail(module.path_node, f"module {module.path!r} (only local .bicep files are followed)")
        scope_node = object_get(body, "scope")
        if scope_node is not None:
            scope = ev.eval(scope_node, env)
            if not (
                isinstance(scope, Obj)
                and to_plain(scope.items.get("id", Item(Lit(""), (0, 0))).value) == self.scope.resource_group_id
            ):
                raise ev.fail(scope_node, "a module deployed to another scope")
        params_node = object_get(body, "params")
        params: dict[str, Value] = {}
        if params_node is not None:
            params = {k: item.value for k, item in ev.object(params_node, env).items.items()}
        label = f"{ev.label}{module.name}" + (f"[{index}]" if index is not None else "") + "."
        inst = self._instance(target, label, params)
        self._modules[mem] = inst
        depends = set()
        depends_node = object_get(body, "dependsOn")
        if depends_node is not None:
            depends = self._depends(ev, depends_node, env)
        self._walk(inst)
        if depends:
            mine = self._all_keys(inst)
            for deployed in self.resources:
                if deployed.key in mine:
                    deployed.depends_on |= depends
        return inst

    def module_name(self, ev: ConcreteEvaluator, module: Module, index: int | None) -> Value:
        """A module instance's deployment name (`mods[0].name`), known at the start of the deployment."""
        env = self._env(ev, module, index)
        node = object_get(module.parts.body, "name") if module.parts.body is not None else None
        if env is None or node is None:
            raise ev.fail(module.decl.node, f"the name of module {module.name} (give it a `name:`)")
        return ev.eval(node, env)

    def module_outputs(self, ev: ConcreteEvaluator, module: Module, index: int | None = None) -> Value:
        """A module instance's outputs as values (runtime ones stay Runtime/Deferred)."""
        inst = self._module(ev, module, index)
        if inst is None:
            raise ev.fail(module.decl.node, f"outputs of module {module.name}, which its condition leaves out")
        items: dict[str, Item] = {}
        for name, decl in inst.file.outputs.items():
            if decl.value is not None:
                items[name] = Item(inst.evaluator.eval(decl.value), pos(decl.name_node), inst.file.name)
        return ModuleOutputs(items, module=module.name)

    def _final(self, ev: ConcreteEvaluator, value: Value, node: ts.Node) -> object:
        """A value as plain data; any part the evaluator could not follow is an UnsupportedBicep error."""
        if isinstance(value, Lit):
            return value.value
        if _is_runtime(value):
            return value
        if isinstance(value, Obj):
            return {k: self._final_at(ev, i, node) for k, i in value.items.items()}
        if isinstance(value, Arr) and not value.open:
            return [self._final_at(ev, i, node) for i in value.items]
        if isinstance(value, Alt):
            raise ev.fail(node, "a condition not known before deployment (ternary over a runtime value)")
        if isinstance(value, Ref):
            raise ev.fail(node, f"a resource or module symbol used as a value ({value.target.name})")
        origin = f" ({value.origin})" if isinstance(value, Unknown) and value.origin else ""
        raise ev.fail(node, f"a value not known before deployment{origin}")

    def _final_at(self, ev: ConcreteEvaluator, item: Item, node: ts.Node) -> object:
        try:
            return self._final(ev, item.value, node)
        except UnsupportedBicep as exc:
            if item.src and item.at != (0, 0) and exc.where == _where(ev.file, node):
                raise UnsupportedBicep(f"{item.src}:{item.at[0]}", exc.construct) from None
            raise


def azd_substitute(data: object, env: Mapping[str, str]) -> object:
    """A parameters-file value with azd's ${VAR} / ${VAR=default} filled in from env ("" when unset)."""
    if isinstance(data, str):
        return AZD_VAR.sub(lambda m: env.get(m.group(1)) or (m.group(2) or ""), data)
    if isinstance(data, dict):
        return {k: azd_substitute(v, env) for k, v in data.items()}
    if isinstance(data, list):
        return [azd_substitute(v, env) for v in data]
    return data


def evaluate(
    repo: Path, scope: Scope, env: Mapping[str, str], overrides: Mapping[str, object] | None = None
) -> Evaluated:
    """Evaluate repo/infra/main.bicep with main.parameters.json (azd substitutions from env) and overrides."""
    project = load_project(repo)
    main = project.main
    if main is None:
        raise UnsupportedBicep("infra/main.bicep:1", "no infra/main.bicep in the repo")
    if (repo / "infra" / "main.bicepparam").exists():
        # azd prefers main.bicepparam over main.parameters.json when both exist (Azure/azure-dev PR #2628), so
        # planning from the JSON file would silently differ from what `azd up` deploys.
        raise UnsupportedBicep(
            "infra/main.bicepparam:1", "a .bicepparam file (azd uses it instead of main.parameters.json)"
        )
    try:
        data = project.parameters() or {}
    except ValueError as exc:
        raise UnsupportedBicep(f"infra/{project.parameters_path.name}:1", f"not valid JSON ({exc})") from None
    raw = data.get("parameters") if isinstance(data, dict) else None
    params: dict[str, Value] = {}
    for name, entry in (raw or {}).items() if isinstance(raw, dict) else ():
        if isinstance(entry, dict) and "value" in entry:
            value = azd_substitute(entry["value"], env)
            decl = main.params.get(str(name))
            if isinstance(value, str) and decl is not None:
                value = azd_converted(value, static_param(decl).kind)  # "false" for a bool is false, as azd sends it
            params[str(name)] = from_json(value, (project.key_line(str(name)), 1))
        elif isinstance(entry, dict) and "reference" in entry:
            raise UnsupportedBicep(
                f"infra/{project.parameters_path.name}:{project.key_line(str(name))}", "a Key Vault reference"
            )
    for name, value in (overrides or {}).items():
        if name in main.params:
            params[name] = from_json(value, (0, 0))
    return Deployment(project, scope).run(params)
