"""Parse Bicep with tree-sitter and index its declarations: params, vars, resources, modules, outputs."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import tree_sitter as ts

TRIVIA = frozenset({"comment", "diagnostic_comment"})
DeclKind = Literal["param", "var", "resource", "module", "output", "type", "func", "import", "metadata"]

_DECL_NODES: dict[str, DeclKind] = {
    "parameter_declaration": "param",
    "variable_declaration": "var",
    "resource_declaration": "resource",
    "module_declaration": "module",
    "output_declaration": "output",
    "type_declaration": "type",
    "user_defined_function": "func",
    "metadata_declaration": "metadata",
}
# Public name for readers outside this package (check's declaration-wise drift).
DECL_NODES = _DECL_NODES
_ESCAPES = {"\\'": "'", "\\\\": "\\", "\\n": "\n", "\\r": "\r", "\\t": "\t", "\\$": "$"}


@functools.cache
def _parser() -> ts.Parser:
    import tree_sitter_bicep

    return ts.Parser(ts.Language(tree_sitter_bicep.language()))


def parse_bytes(source: bytes) -> ts.Tree:
    """The tree-sitter tree of Bicep source."""
    return _parser().parse(source)


def text(node: ts.Node) -> str:
    """Source text of a node."""
    return (node.text or b"").decode("utf-8", errors="replace")


def pos(node: ts.Node) -> tuple[int, int]:
    """1-based line and column where the node starts."""
    return node.start_point.row + 1, node.start_point.column + 1


def iter_nodes(node: ts.Node) -> Iterator[ts.Node]:
    """Every named node below (and including) node, in source order."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.named_children))


def kids(node: ts.Node) -> list[ts.Node]:
    """Named children without comments."""
    return [c for c in node.named_children if c.type not in TRIVIA]


_ESCAPE = re.compile(r"\\(u\{[0-9A-Fa-f]+\}|.)", re.DOTALL)


def unescape(esc: str) -> str:
    """The character a string escape sequence stands for."""
    if esc.startswith("\\u{"):
        return chr(int(esc[3:-1], 16))
    return _ESCAPES.get(esc, esc[1:])


def _decode(raw: str) -> str:
    return _ESCAPE.sub(lambda m: unescape(m.group(0)), raw)


def string_parts(node: ts.Node) -> list[str | ts.Node]:
    """A string literal as decoded text pieces and interpolated expression nodes, in order."""
    raw = node.text or b""
    if raw.startswith(b"'''"):
        body = raw[3:-3].decode("utf-8", errors="replace")
        return [body[1:] if body.startswith("\n") else body.removeprefix("\r\n")]
    parts: list[str | ts.Node] = []
    cursor = node.start_byte + 1
    for child in node.named_children:
        if child.type != "interpolation":
            continue
        chunk = raw[cursor - node.start_byte:child.start_byte - node.start_byte]
        parts.append(_decode(chunk.decode("utf-8", "replace")))
        inner = kids(child)
        if inner:
            parts.append(inner[0])
        cursor = child.end_byte
    parts.append(_decode(raw[cursor - node.start_byte:len(raw) - 1].decode("utf-8", "replace")))
    return [p for p in parts if not (isinstance(p, str) and p == "")] or [""]


def string_value(node: ts.Node) -> str | None:
    """The value of a string literal; None for interpolated strings and non-strings."""
    if node.type != "string":
        return None
    parts = string_parts(node)
    if any(not isinstance(p, str) for p in parts):
        return None
    return "".join(p for p in parts if isinstance(p, str))


def property_key(prop: ts.Node) -> tuple[str, ts.Node] | None:
    """Key text and key node of an object_property (None for a nested resource declaration)."""
    first = prop.named_children[0] if prop.named_children else None
    if first is None or first.type == "resource_declaration":
        return None
    if first.type == "string":
        value = string_value(first)
        return (value, first) if value is not None else None
    return text(first), first


def property_value(prop: ts.Node) -> ts.Node | None:
    """Value node of an object_property."""
    named = kids(prop)
    return named[1] if len(named) >= 2 else None


def object_properties(obj: ts.Node) -> Iterator[tuple[str, ts.Node, ts.Node]]:
    """(key, property node, value node) for each key/value property of an object literal."""
    for prop in obj.named_children:
        if prop.type != "object_property":
            continue
        key = property_key(prop)
        value = property_value(prop)
        if key is not None and value is not None:
            yield key[0], prop, value


def object_get(obj: ts.Node | None, key: str) -> ts.Node | None:
    """Value node of a key in an object literal."""
    if obj is None or obj.type != "object":
        return None
    for name, _prop, value in object_properties(obj):
        if name == key:
            return value
    return None


def call_name(call: ts.Node) -> str | None:
    """Function name of a call: `f(...)`, `az.f(...)`, `sys.f(...)` -> "f"; `x.f(...)` -> "x.f"."""
    fn = call.child_by_field_name("function")
    if fn is None:
        return None
    if fn.type == "identifier":
        return text(fn)
    if fn.type == "member_expression":
        obj = fn.child_by_field_name("object")
        prop = fn.child_by_field_name("property")
        if obj is not None and prop is not None:
            if obj.type == "identifier" and text(obj) in ("az", "sys"):
                return text(prop)
            return f"{text(obj)}.{text(prop)}"
    return None


@dataclass(frozen=True)
class Loop:
    """A `[for item in iterable: body]`, with optional index variable and filter condition."""

    node: ts.Node
    item: str | None
    index: str | None
    iterable: ts.Node
    body: ts.Node
    condition: ts.Node | None


def loop_parts(node: ts.Node) -> Loop | None:
    """Dissect a for_statement."""
    named = kids(node)
    body = node.child_by_field_name("body")
    if len(named) < 3 or body is None:
        return None
    head, iterable = named[0], named[1]
    item = index = None
    if head.type == "identifier":
        item = text(head)
    elif head.type == "for_loop_parameters":
        for part in kids(head):
            if part.type == "loop_variable":
                item = text(part)
            elif part.type == "loop_enumerator":
                index = text(part)
    condition = None
    if body.type == "if_statement":
        parts = kids(body)
        if len(parts) == 2:
            condition, body = parts
    return Loop(node, item, index, iterable, body, condition)


@dataclass(frozen=True)
class Unwrapped:
    """A resource or module value split into its body object, loop and `if` condition."""

    body: ts.Node | None
    loop: Loop | None
    condition: ts.Node | None


def unwrap(value: ts.Node | None) -> Unwrapped:
    """Peel `[for ...]` and `if (...)` off a resource/module value."""
    loop = condition = None
    node = value
    if node is not None and node.type == "for_statement":
        loop = loop_parts(node)
        node = loop.body if loop else None
        condition = loop.condition if loop else None
    if node is not None and node.type == "if_statement":
        parts = kids(node)
        if len(parts) == 2:
            condition, node = parts
    body = node if node is not None and node.type == "object" else None
    return Unwrapped(body, loop, condition)


@dataclass
class Decl:
    """One top-level (or nested resource) declaration."""

    kind: DeclKind
    name: str
    node: ts.Node
    name_node: ts.Node
    decorators: tuple[ts.Node, ...] = ()

    def decorator(self, name: str) -> ts.Node | None:
        """The call node of decorator `@name(...)` (or `@sys.name(...)`)."""
        for call in self.decorators:
            if call_name(call) == name:
                return call
        return None

    def decorator_args(self, name: str) -> list[ts.Node] | None:
        """Arguments of decorator `@name(...)`, None when absent."""
        call = self.decorator(name)
        if call is None:
            return None
        args = call.child_by_field_name("arguments")
        return kids(args) if args is not None else []

    @property
    def type_node(self) -> ts.Node | None:
        """The declared type of a param or output."""
        for child in kids(self.node):
            if child.type in ("type", "nullable_type", "union_type", "array_type", "parenthesized_type"):
                return child
        return None

    @property
    def value(self) -> ts.Node | None:
        """Value expression: a var's value, a param's default, an output's value, a resource/module's body."""
        named = kids(self.node)
        if self.kind in ("var", "output", "resource", "module"):
            return named[-1] if len(named) >= 2 else None
        if self.kind == "param":
            type_node = self.type_node
            if type_node is None:
                return None
            after = [c for c in named if c.start_byte > type_node.start_byte]
            return after[0] if after else None
        return None


@dataclass
class Resource:
    """A resource declaration with its full type (nested children get the parent's type prefix)."""

    decl: Decl
    type: str
    api_version: str | None
    existing: bool
    parts: Unwrapped
    parent: Resource | None = None
    children: list[Resource] = field(default_factory=list)

    @property
    def name(self) -> str:
        """Symbolic name."""
        return self.decl.name


@dataclass
class Module:
    """A module declaration."""

    decl: Decl
    path: str
    path_node: ts.Node
    parts: Unwrapped

    @property
    def name(self) -> str:
        """Symbolic name."""
        return self.decl.name


def _split_type(raw: str) -> tuple[str, str | None]:
    type_name, _, version = raw.partition("@")
    return type_name, (version or None)


def _resource(decl_node: ts.Node, decorators: tuple[ts.Node, ...], parent: Resource | None) -> Resource | None:
    named = kids(decl_node)
    if len(named) < 3 or named[0].type != "identifier":
        return None
    raw = string_value(named[1]) or ""
    type_name, version = _split_type(raw)
    if parent is not None:
        if "/" not in type_name:
            type_name = f"{parent.type}/{type_name}"
        if version is None:
            version = parent.api_version
    existing = any(c.type == "existing" for c in decl_node.children)
    decl = Decl("resource", text(named[0]), decl_node, named[0], decorators)
    res = Resource(decl, type_name, version, existing, unwrap(named[-1]), parent)
    if res.parts.body is not None:
        for prop in res.parts.body.named_children:
            if prop.type == "object_property" and prop.named_children:
                inner = prop.named_children[0]
                if inner.type == "resource_declaration":
                    child = _resource(inner, (), res)
                    if child is not None:
                        res.children.append(child)
    return res


@dataclass
class BicepFile:
    """A parsed Bicep file and its declarations, in source order."""

    path: Path
    name: str
    source: bytes
    tree: ts.Tree
    decls: list[Decl] = field(default_factory=list)
    resources: list[Resource] = field(default_factory=list)
    modules: list[Module] = field(default_factory=list)
    target_scope: str | None = None
    # Top-level statements indexed as no declaration (`import`, `using`, `extension`, ...): the concrete
    # evaluator refuses them rather than deploy as if they were not there.
    unhandled: list[ts.Node] = field(default_factory=list)

    @property
    def root(self) -> ts.Node:
        """Root node."""
        return self.tree.root_node

    def of_kind(self, kind: DeclKind) -> dict[str, Decl]:
        """Declarations of one kind by name (the first wins when a name repeats)."""
        out: dict[str, Decl] = {}
        for d in self.decls:
            if d.kind == kind:
                out.setdefault(d.name, d)
        return out

    @property
    def params(self) -> dict[str, Decl]:
        """Parameters by name."""
        return self.of_kind("param")

    @property
    def variables(self) -> dict[str, Decl]:
        """Variables by name."""
        return self.of_kind("var")

    @property
    def outputs(self) -> dict[str, Decl]:
        """Outputs by name."""
        return self.of_kind("output")

    def all_resources(self) -> list[Resource]:
        """Every resource, nested children included, in source order."""
        out: list[Resource] = []

        def add(res: Resource) -> None:
            out.append(res)
            for child in res.children:
                add(child)

        for res in self.resources:
            add(res)
        return out

    def resource(self, name: str) -> Resource | None:
        """Top-level resource by symbolic name."""
        return next((r for r in self.resources if r.name == name), None)

    def module(self, name: str) -> Module | None:
        """Module by symbolic name."""
        return next((m for m in self.modules if m.name == name), None)


def load(path: Path, name: str | None = None, source: bytes | None = None, tree: ts.Tree | None = None) -> BicepFile:
    """Parse a Bicep file (unless its tree is given) and index its top-level declarations."""
    data = path.read_bytes() if source is None else source
    tree = parse_bytes(data) if tree is None else tree
    bf = BicepFile(path=path, name=name or path.name, source=data, tree=tree)
    pending: tuple[ts.Node, ...] = ()
    for node in tree.root_node.named_children:
        if node.type in TRIVIA:
            continue
        if node.type == "decorators":
            pending = tuple(
                call for dec in node.named_children if dec.type == "decorator"
                for call in dec.named_children if call.type == "call_expression"
            )
            continue
        decorators, pending = pending, ()
        if node.type == "target_scope_assignment":
            value = kids(node)
            bf.target_scope = string_value(value[0]) if value else None
            continue
        if node.type == "import_statement":
            bf.unhandled.append(node)
            for ident in node.named_children:
                if ident.type == "identifier":
                    bf.decls.append(Decl("import", text(ident), node, ident))
            continue
        kind = _DECL_NODES.get(node.type)
        if kind is None:
            bf.unhandled.append(node)
            continue
        if kind == "resource":
            res = _resource(node, decorators, None)
            if res is not None:
                bf.resources.append(res)
                bf.decls.append(res.decl)
            continue
        named = kids(node)
        if not named or named[0].type != "identifier":
            continue
        decl = Decl(kind, text(named[0]), node, named[0], decorators)
        bf.decls.append(decl)
        if kind == "module" and len(named) >= 3:
            bf.modules.append(Module(decl, string_value(named[1]) or "", named[1], unwrap(named[-1])))
    return bf
