"""A small Bicep evaluator over tree-sitter-bicep, enough for the generated infra/ (tests only).

It evaluates main.bicep with a parameters file the way ARM would at deployment time and lists every
resource it would PUT: type, api-version, full name, id and body. Values that ARM knows only after a
resource exists (principal ids, endpoints) become opaque strings "<type/name.path>", so a test can compare
them with the provisioning plan's references. Unknown syntax or functions raise, so new Bicep constructs
make the comparison fail loudly instead of being skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

import tree_sitter_bicep
from tree_sitter import Language, Node, Parser

from scaffolder.provisioning.bicepfn import guid, unique_string

_PARSER = Parser(Language(tree_sitter_bicep.language()))


def opaque(resource_key: str, path: str) -> str:
    """The stand-in for a runtime-only value of a resource."""
    return f"<{resource_key}.{path}>"


@dataclass
class Emitted:
    """A resource a deployment would create."""

    symbol: str
    type: str
    api_version: str
    name: str
    id: str
    body: dict[str, Any]
    decorators: list[str]


@dataclass
class ResourceHandle:
    type: str
    api_version: str
    full_name: str
    short_name: str
    id: str

    @property
    def key(self) -> str:
        return f"{self.type}/{self.full_name}"


@dataclass
class ModuleHandle:
    outputs: Callable[[], dict[str, Any]]


class BicepError(Exception):
    pass


@dataclass
class Scope:
    deployment: Deployment
    file: PurePosixPath
    root: Node
    src: bytes
    params: dict[str, Any]
    vars: dict[str, Node] = field(default_factory=dict)
    var_values: dict[str, Any] = field(default_factory=dict)
    resources: dict[str, Node] = field(default_factory=dict)
    resource_values: dict[str, Any] = field(default_factory=dict)
    modules: dict[str, Node] = field(default_factory=dict)
    module_values: dict[str, Any] = field(default_factory=dict)
    locals: dict[str, Any] = field(default_factory=dict)

    def text(self, node: Node) -> str:
        return self.src[node.start_byte : node.end_byte].decode()


class Deployment:
    """Evaluates one Bicep file tree for a resource group deployment."""

    def __init__(self, files: Mapping[str, str], subscription_id: str, resource_group: str, location: str) -> None:
        self.files = files
        self.subscription_id = subscription_id
        self.resource_group = resource_group
        self.location = location
        self.emitted: list[Emitted] = []

    @property
    def rg_id(self) -> str:
        return f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"

    def run(self, main: str, params: Mapping[str, Any]) -> dict[str, Any]:
        scope = self._load(PurePosixPath(main), dict(params))
        for name in scope.modules:
            self._module(scope, name)
        for name in scope.resources:
            self._resource(scope, name)
        return self._outputs(scope)

    # -- files -----------------------------------------------------------------------------------

    def _load(self, path: PurePosixPath, given: dict[str, Any]) -> Scope:
        src = self.files[str(path)].encode()
        tree = _PARSER.parse(src)
        if tree.root_node.has_error:
            raise BicepError(f"{path}: syntax error")
        scope = Scope(self, path, tree.root_node, src, {})
        for node in tree.root_node.named_children:
            if node.type == "parameter_declaration":
                name = scope.text(node.named_children[0])
                if name in given:
                    scope.params[name] = given.pop(name)
                else:
                    default = [c for c in node.named_children[2:] if c.type not in ("type", "primitive_type")]
                    if not default:
                        raise BicepError(f"{path}: parameter {name} has no value")
                    scope.params[name] = self.eval(scope, default[0])
            elif node.type == "variable_declaration":
                scope.vars[scope.text(node.named_children[0])] = node.named_children[-1]
            elif node.type == "resource_declaration":
                scope.resources[scope.text(node.named_children[0])] = node
            elif node.type == "module_declaration":
                scope.modules[scope.text(node.named_children[0])] = node
        if given:
            raise BicepError(f"{path}: unknown parameters {sorted(given)}")
        return scope

    def _decorators(self, scope: Scope, node: Node) -> list[str]:
        prev = node.prev_named_sibling
        if prev is not None and prev.type == "decorators":
            return [scope.text(d) for d in prev.named_children]
        return []

    # -- modules and resources ------------------------------------------------------------------

    def _module(self, scope: Scope, name: str) -> Any:
        if name in scope.module_values:
            return scope.module_values[name]
        node = scope.modules[name]
        path = PurePosixPath(scope.text(node.named_children[1])[1:-1])
        body = node.named_children[2]
        if body.type == "if_statement":
            if not self.eval(scope, body.named_children[0]):
                scope.module_values[name] = None
                return None
            body = body.named_children[1]
        props = self._object_nodes(scope, body)
        params = self._eval_object_lazy(scope, props["params"])
        child = self._load(scope.file.parent / path, params)
        for res in child.resources:
            self._resource(child, res)
        for mod in child.modules:
            self._module(child, mod)
        handle = ModuleHandle(lambda: self._outputs(child))
        scope.module_values[name] = handle
        return handle

    def _outputs(self, scope: Scope) -> dict[str, Any]:
        out = {}
        for node in scope.root.named_children:
            if node.type == "output_declaration":
                out[scope.text(node.named_children[0])] = self.eval(scope, node.named_children[-1])
        return out

    def _resource(self, scope: Scope, name: str) -> Any:
        if name in scope.resource_values:
            return scope.resource_values[name]
        node = scope.resources[name]
        type_version = scope.text(node.named_children[1])[1:-1]
        rtype, _, api_version = type_version.partition("@")
        existing = any(c.type == "existing" for c in node.children)
        body_node = node.named_children[2]
        decorators = self._decorators(scope, node)
        if body_node.type == "for_statement":
            var = scope.text(body_node.named_children[0])
            items = self.eval(scope, body_node.named_children[1])
            handles = []
            for item in items:
                saved = dict(scope.locals)
                scope.locals[var] = item
                handles.append(
                    self._instance(scope, name, rtype, api_version, body_node.named_children[2], existing, decorators)
                )
                scope.locals = saved
            scope.resource_values[name] = handles
            return handles
        handle = self._instance(scope, name, rtype, api_version, body_node, existing, decorators)
        scope.resource_values[name] = handle
        return handle

    def _instance(
        self, scope: Scope, symbol: str, rtype: str, api_version: str, body: Node, existing: bool, decorators: list[str]
    ) -> ResourceHandle:
        props = self._object_nodes(scope, body)
        short = self.eval(scope, props["name"])
        provider, *segments = rtype.split("/")
        if "parent" in props:
            parent = self.eval(scope, props["parent"])
            full = f"{parent.full_name}/{short}"
            rid = f"{parent.id}/{segments[-1]}/{short}"
        elif "scope" in props:
            target = self.eval(scope, props["scope"])
            full = short
            rid = f"{target.id}/providers/{rtype}/{short}"
        else:
            full = short
            rid = f"{self.rg_id}/providers/{provider}/{segments[0]}/{short}"
        handle = ResourceHandle(rtype, api_version, full, short, rid)
        if not existing:
            values = {k: self.eval(scope, v) for k, v in props.items() if k not in ("parent", "scope", "dependsOn")}
            self.emitted.append(Emitted(symbol, rtype, api_version, full, rid, values, decorators))
        return handle

    # -- expressions ----------------------------------------------------------------------------

    def _object_nodes(self, scope: Scope, node: Node) -> dict[str, Node]:
        if node.type != "object":
            raise BicepError(f"{scope.file}: expected an object, got {node.type}")
        out = {}
        for prop in node.named_children:
            if prop.type != "object_property":
                continue
            key_node = prop.named_children[0]
            key = scope.text(key_node)
            out[key[1:-1] if key_node.type == "string" else key] = prop.named_children[-1]
        return out

    def _eval_object_lazy(self, scope: Scope, node: Node) -> dict[str, Any]:
        return {k: self.eval(scope, v) for k, v in self._object_nodes(scope, node).items()}

    def eval(self, scope: Scope, node: Node) -> Any:
        kind = node.type
        if kind == "string":
            parts = []
            for child in node.named_children:
                if child.type == "string_content":
                    parts.append(scope.text(child))
                elif child.type == "escape_sequence":
                    parts.append({"\\'": "'", "\\\\": "\\", "\\n": "\n", "\\$": "$"}[scope.text(child)])
                elif child.type == "interpolation":
                    parts.append(str(self.eval(scope, child.named_children[0])))
                else:
                    raise BicepError(f"string part {child.type}")
            return "".join(parts)
        if kind == "number":
            return int(scope.text(node))
        if kind == "boolean":
            return scope.text(node) == "true"
        if kind == "null":
            return None
        if kind == "array":
            return [self.eval(scope, c) for c in node.named_children if c.type != "comment"]
        if kind == "object":
            return self._eval_object_lazy(scope, node)
        if kind == "parenthesized_expression":
            return self.eval(scope, node.named_children[0])
        if kind == "identifier":
            return self._identifier(scope, scope.text(node))
        if kind == "ternary_expression":
            cond, yes, no = node.named_children
            return self.eval(scope, yes) if self.eval(scope, cond) else self.eval(scope, no)
        if kind == "unary_expression":
            op = scope.text(node.children[0])
            value = self.eval(scope, node.named_children[0])
            if op == "!":
                return not value
            raise BicepError(f"unary {op}")
        if kind == "binary_expression":
            left, right = node.named_children
            op = scope.text(node.children[1])
            a = self.eval(scope, left)
            if op == "&&":
                return a and self.eval(scope, right)
            if op == "||":
                return a or self.eval(scope, right)
            b = self.eval(scope, right)
            ops: dict[str, Callable[[Any, Any], Any]] = {
                "==": lambda x, y: x == y,
                "!=": lambda x, y: x != y,
                "=~": lambda x, y: str(x).lower() == str(y).lower(),
                "+": lambda x, y: x + y,
            }
            if op not in ops:
                raise BicepError(f"binary {op}")
            return ops[op](a, b)
        if kind == "member_expression":
            target = self.eval(scope, node.named_children[0])
            return self._member(target, scope.text(node.named_children[1]))
        if kind == "subscript_expression":
            target = self.eval(scope, node.named_children[0])
            index = self.eval(scope, node.named_children[1])
            if isinstance(target, str) and target.startswith("<"):
                return target[:-1] + f"['{index}']>"
            return target[index]
        if kind == "for_statement":
            var = scope.text(node.named_children[0])
            out = []
            for item in self.eval(scope, node.named_children[1]):
                saved = dict(scope.locals)
                scope.locals[var] = item
                out.append(self.eval(scope, node.named_children[2]))
                scope.locals = saved
            return out
        if kind == "call_expression":
            fname = scope.text(node.named_children[0])
            args = [self.eval(scope, a) for a in node.named_children[1].named_children]
            return self._call(fname, args)
        raise BicepError(f"{scope.file}: unsupported expression {kind}: {scope.text(node)[:60]}")

    def _identifier(self, scope: Scope, name: str) -> Any:
        if name in scope.locals:
            return scope.locals[name]
        if name in scope.params:
            return scope.params[name]
        if name in scope.vars:
            if name not in scope.var_values:
                scope.var_values[name] = self.eval(scope, scope.vars[name])
            return scope.var_values[name]
        if name in scope.resources:
            return self._resource(scope, name)
        if name in scope.modules:
            return self._module(scope, name)
        raise BicepError(f"{scope.file}: unknown identifier {name}")

    def _member(self, target: Any, name: str) -> Any:
        if isinstance(target, ResourceHandle):
            if name == "id":
                return target.id
            if name == "name":
                return target.short_name
            return opaque(target.key, name)
        if isinstance(target, ModuleHandle):
            if name != "outputs":
                raise BicepError(f"module member {name}")
            return target.outputs()
        if isinstance(target, str) and target.startswith("<"):
            return target[:-1] + f".{name}>"
        if isinstance(target, dict):
            return target[name]
        raise BicepError(f"member {name} of {target!r}")

    def _call(self, name: str, args: list[Any]) -> Any:
        if name == "resourceGroup":
            return {"id": self.rg_id, "name": self.resource_group, "location": self.location}
        if name == "uniqueString":
            return unique_string(*args)
        if name == "guid":
            return guid(*args)
        if name == "toLower":
            return str(args[0]).lower()
        if name == "replace":
            return str(args[0]).replace(args[1], args[2])
        if name == "take":
            return args[0][: args[1]]
        if name == "empty":
            return not args[0]
        if name == "union":
            merged: dict[str, Any] = {}
            for arg in args:
                merged.update(arg)
            return merged
        if name == "subscriptionResourceId":
            rtype, *names = args
            return f"/subscriptions/{self.subscription_id}/providers/{rtype}/{'/'.join(names)}"
        raise BicepError(f"function {name}() is not supported by the test evaluator")
