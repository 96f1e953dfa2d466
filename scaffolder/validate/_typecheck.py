"""Check resource bodies (and reads of resource properties) against a schema backend, as the compiler does.

Reported: unknown or read-only properties, missing required ones, wrong primitive types, enum values,
string/int bounds and unknown type@version. Static mode checks what is knowable from the source; rendered mode
first substitutes the parameters file's values through main.bicep into every module.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import tree_sitter as ts

from scaffolder.validate._eval import (
    ANY,
    Alt,
    Arr,
    Evaluator,
    Item,
    Lit,
    Obj,
    Ref,
    Unknown,
    Value,
    kind_of,
    module_output_kinds,
    param_problems,
)
from scaffolder.validate._findings import Finding, Severity, sorted_findings
from scaffolder.validate._model import (
    BicepFile,
    Loop,
    Module,
    Resource,
    iter_nodes,
    kids,
    object_get,
    pos,
    string_value,
    text,
)
from scaffolder.validate._project import Project
from scaffolder.validate._schema import (
    AnySchema,
    ArraySchema,
    Backend,
    BoolSchema,
    DiscriminatedSchema,
    IntSchema,
    LiteralSchema,
    NullSchema,
    ObjectSchema,
    Prop,
    Schema,
    StringSchema,
    UnionSchema,
)

BICEP_KEYWORDS = frozenset({"parent", "scope", "dependsOn"})
MAX_MODULE_DEPTH = 16


@dataclass(frozen=True)
class Issue:
    """A schema violation at a place in the file being checked."""

    rule: str
    severity: Severity
    at: tuple[int, int]
    message: str


def _schema_kind(s: Schema) -> str:
    if isinstance(s, (StringSchema,)):
        return "string"
    if isinstance(s, LiteralSchema):
        v = s.value
        return "bool" if isinstance(v, bool) else "int" if isinstance(v, int) else "null" if v is None else "string"
    if isinstance(s, IntSchema):
        return "int"
    if isinstance(s, BoolSchema):
        return "bool"
    if isinstance(s, (ObjectSchema, DiscriminatedSchema)):
        return "object"
    if isinstance(s, ArraySchema):
        return "array"
    if isinstance(s, NullSchema):
        return "null"
    if isinstance(s, UnionSchema):
        kinds = {_schema_kind(e) for e in s.elements}
        return kinds.pop() if len(kinds) == 1 else "any"
    return "any"


def _describe(s: Schema) -> str:
    if isinstance(s, UnionSchema):
        return " | ".join(_describe(e) for e in s.elements)
    if isinstance(s, LiteralSchema):
        return repr(s.value)
    if isinstance(s, (ObjectSchema, DiscriminatedSchema)):
        return s.name or "object"
    return _schema_kind(s)


def _show(v: Value) -> str:
    if isinstance(v, Lit):
        return repr(v.value)
    if isinstance(v, Unknown):
        return f"a {v.kind}" + (f" ({v.origin})" if v.origin else "")
    return kind_of(v)


class _Checker:
    def __init__(self, file: str, note: str = "") -> None:
        self.file = file
        self.note = note

    def issue(self, rule: str, at: tuple[int, int], message: str, severity: Severity = "error") -> Issue:
        return Issue(f"types/{rule}", severity, at, message + self.note)

    def here(self, item: Item, at: tuple[int, int]) -> tuple[int, int]:
        """Where to report an item: where it was written when that is in this file, else the enclosing place."""
        return item.at if item.src == self.file and item.at != (0, 0) else at

    def check(self, v: Value, s: Schema, path: str, at: tuple[int, int]) -> list[Issue]:
        if isinstance(v, Alt):
            out: list[Issue] = []
            for option in v.options:
                out.extend(i for i in self.check(option, s, path, at) if i not in out)
            return out
        if isinstance(v, Ref):
            v = Unknown("array" if v.collection else "object", origin=f"resource {v.target.name}")
        if isinstance(s, AnySchema):
            return []
        if isinstance(s, UnionSchema):
            return self._union(v, s, path, at)
        if isinstance(v, Unknown):
            return self._unknown(v, s, path, at)
        if isinstance(v, Lit):
            return self._lit(v, s, path, at)
        if isinstance(v, Obj):
            if isinstance(s, ObjectSchema):
                return self.check_object(v, s, path, at)
            if isinstance(s, DiscriminatedSchema):
                return self.check_discriminated(v, s, path, at)
        if isinstance(v, Arr) and isinstance(s, ArraySchema):
            out = []
            if not v.open:
                n = len(v.items)
                if s.min_length is not None and n < s.min_length:
                    out.append(self.issue("invalid-value", at, f"{path}: needs at least {s.min_length} items, has {n}"))
                if s.max_length is not None and n > s.max_length:
                    out.append(self.issue("invalid-value", at, f"{path}: allows at most {s.max_length} items, has {n}"))
            for i, item in enumerate(v.items):
                out.extend(self.check(item.value, s.item, f"{path}[{'*' if v.open else i}]", self.here(item, at)))
            return out
        return [self.issue("wrong-type", at, f"{path}: expects {_describe(s)}, got {_show(v)}")]

    def _lit(self, v: Lit, s: Schema, path: str, at: tuple[int, int]) -> list[Issue]:
        value = v.value
        if value is None:
            return []  # null leaves an optional property unset; required ones are checked by the object
        if isinstance(s, LiteralSchema):
            if value == s.value and type(value) is type(s.value):
                return []
            return [self.issue("invalid-value", at, f"{path}: expects {s.value!r}, got {value!r}")]
        if isinstance(s, StringSchema) and isinstance(value, str):
            return self._string(value, s, path, at)
        # A float only comes from json('0.5'), which Bicep types as any: the type data writes ARM's fractional
        # numbers (a container's cpu) as integers because Bicep has no fractional type.
        if isinstance(s, IntSchema) and isinstance(value, (int, float)) and not isinstance(value, bool):
            if s.minimum is not None and value < s.minimum:
                return [self.issue("invalid-value", at, f"{path}: {value} is below the minimum {s.minimum}")]
            if s.maximum is not None and value > s.maximum:
                return [self.issue("invalid-value", at, f"{path}: {value} is above the maximum {s.maximum}")]
            return []
        if isinstance(s, BoolSchema) and isinstance(value, bool):
            return []
        return [self.issue("wrong-type", at, f"{path}: expects {_describe(s)}, got {value!r}")]

    def _string(self, value: str, s: StringSchema, path: str, at: tuple[int, int]) -> list[Issue]:
        out = []
        if s.min_length is not None and len(value) < s.min_length:
            out.append(self.issue("invalid-value", at, f"{path}: {value!r} is shorter than {s.min_length}"))
        if s.max_length is not None and len(value) > s.max_length:
            out.append(self.issue("invalid-value", at,
                                  f"{path}: {value!r} is {len(value)} characters, longer than {s.max_length}"))
        if s.pattern:
            try:
                ok = re.search(s.pattern, value) is not None
            except re.error:
                ok = True  # a .NET-only construct; the service validates it anyway
            if not ok:
                out.append(self.issue("invalid-value", at, f"{path}: {value!r} does not match {s.pattern}"))
        return out

    def _unknown(self, v: Unknown, s: Schema, path: str, at: tuple[int, int]) -> list[Issue]:
        if v.kind in ("any", "null"):
            return []
        if v.allowed is not None:
            out: list[Issue] = []
            for option in v.allowed:
                for issue in self.check(Lit(option), s, path, at):
                    out.append(Issue(issue.rule, issue.severity, issue.at, f"{issue.message} ({v.origin} allows it)"))
            return out
        want = _schema_kind(s)
        if want not in ("any", v.kind):
            return [self.issue("wrong-type", at, f"{path}: expects {_describe(s)}, got {_show(v)}")]
        return []

    def _union(self, v: Value, s: UnionSchema, path: str, at: tuple[int, int]) -> list[Issue]:
        literals = [e.value for e in s.elements if isinstance(e, LiteralSchema)]
        open_strings = [e for e in s.elements if isinstance(e, StringSchema)]
        if isinstance(v, Lit) and isinstance(v.value, str) and literals:
            if v.value in literals:
                return []
            folded = [x for x in literals if isinstance(x, str) and x.lower() == v.value.lower()]
            if open_strings:
                issues = self._string(v.value, open_strings[0], path, at)
                if folded:
                    issues.append(self.issue("case-mismatch", at, f"{path}: {v.value!r} differs from the known value "
                                             f"{folded[0]!r} only in case", "warning"))
                else:
                    known = ", ".join(repr(x) for x in literals)
                    issues.append(self.issue("unknown-enum-value", at,
                                             f"{path}: {v.value!r} is not a known value ({known})", "warning"))
                return issues
            hint = f"; did you mean {folded[0]!r}?" if folded else ""
            known = ", ".join(repr(x) for x in literals)
            return [self.issue("invalid-value", at, f"{path}: {v.value!r} is not one of {known}{hint}")]
        if isinstance(v, Unknown):
            if v.allowed is not None:
                return self._unknown(v, s, path, at)
            kinds = {_schema_kind(e) for e in s.elements}
            if v.kind in ("any", "null") or v.kind in kinds or "any" in kinds:
                return []
            return [self.issue("wrong-type", at, f"{path}: expects {_describe(s)}, got {_show(v)}")]
        kind = kind_of(v)
        candidates = [e for e in s.elements if _schema_kind(e) in (kind, "any")]
        if not candidates:
            if kind == "null":
                return []
            return [self.issue("wrong-type", at, f"{path}: expects {_describe(s)}, got {_show(v)}")]
        best: list[Issue] | None = None
        for candidate in candidates:
            issues = self.check(v, candidate, path, at)
            if not any(i.severity == "error" for i in issues):
                return issues
            if best is None or len(issues) < len(best):
                best = issues
        return best or []

    def check_object(self, v: Obj, s: ObjectSchema, path: str, at: tuple[int, int]) -> list[Issue]:
        out: list[Issue] = []
        folded = {k.lower(): k for k in s.props}
        prefix = f"{path}." if path else ""
        for key, item in v.items.items():
            where = self.here(item, at)
            name = key if key in s.props else folded.get(key.lower())
            if name is None:
                if s.additional is not None:
                    out.extend(self.check(item.value, s.additional, f"{prefix}{key}", where))
                    continue
                close = difflib.get_close_matches(key, list(s.props), n=1, cutoff=0.6)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                owner = s.name or "object"
                message = f"{prefix}{key}: {owner} has no property {key!r}{hint}"
                out.append(self.issue("unknown-property", where, message))
                continue
            prop = s.props[name]
            if name != key:
                out.append(self.issue("case-mismatch", where, f"{prefix}{key}: the property is spelt {name!r}",
                                      "warning"))
            if prop.readonly and not prop.required:
                out.append(self.issue("read-only", where, f"{prefix}{key}: the property is read-only"))
                continue
            if prop.required and isinstance(item.value, Lit) and item.value.value is None:
                out.append(self.issue("missing-property", where, f"{prefix}{key}: required, but null"))
                continue
            out.extend(self.check(item.value, prop.type, f"{prefix}{key}", where))
        given = {k.lower() for k in v.items}
        for name, prop in s.props.items():
            if prop.required and not prop.readonly and name.lower() not in given:
                out.append(self.issue("missing-property", at, f"{prefix}{name}: required property is missing"))
        return out

    def check_discriminated(self, v: Obj, s: DiscriminatedSchema, path: str, at: tuple[int, int]) -> list[Issue]:
        item = v.items.get(s.discriminator)
        prefix = f"{path}." if path else ""
        if item is None:
            return [self.issue("missing-property", at, f"{prefix}{s.discriminator}: required property is missing")]
        value = item.value
        if isinstance(value, Lit) and isinstance(value.value, str):
            element = s.elements.get(value.value)
            if element is None:
                known = ", ".join(repr(k) for k in s.elements)
                return [self.issue("invalid-value", self.here(item, at),
                                   f"{prefix}{s.discriminator}: {value.value!r} is not one of {known}")]
            merged = ObjectSchema(element.name, {**s.base, **element.props}, element.additional)
            merged.props.setdefault(s.discriminator, Prop(LiteralSchema(value.value), required=True))
            return self.check_object(v, merged, path, at)
        # discriminator not known here: accept any variant's properties, require only the common ones
        props: dict[str, Prop] = {s.discriminator: Prop(StringSchema(), required=True)}
        for element in s.elements.values():
            for k, p in element.props.items():
                props.setdefault(k, Prop(p.type, False, p.readonly, p.writeonly))
        props.update(s.base)
        return self.check_object(v, ObjectSchema(s.name, props), path, at)


# -- rendering --------------------------------------------------------------------------------------------
@dataclass
class Instance:
    """One deployed copy of a Bicep file: main, or a module call (one per loop iteration)."""

    file: BicepFile
    evaluator: Evaluator
    label: str
    depth: int = 0
    children: dict[int, Instance | None] = field(default_factory=dict)
    caller: str = ""
    given: dict[str, Item] = field(default_factory=dict)


@dataclass(frozen=True)
class RenderedResource:
    """A resource body with the parameters substituted."""

    file: str
    label: str
    name: str
    type: str
    api_version: str | None
    body: Obj
    resource: Resource


class Renderer:
    """Substitutes main.parameters.json through main.bicep into every module call."""

    def __init__(self, project: Project) -> None:
        self.project = project

    def root(self) -> Instance | None:
        """The instance of main.bicep under the parameters file."""
        main = self.project.main
        if main is None:
            return None
        return self._instance(main, self.project.parameter_values(), "main", 0)

    def _instance(self, file: BicepFile, params: Mapping[str, Value], label: str, depth: int) -> Instance:
        inst: Instance | None = None

        def outputs(module: Module) -> Value:
            assert inst is not None
            return self._outputs(inst, module)

        evaluator = Evaluator(file, params, module_outputs=outputs, defaults=True)
        inst = Instance(file, evaluator, label, depth)
        return inst

    def calls(self, inst: Instance) -> list[Instance]:
        """Every module instance called from inst (loops expanded when their array is known)."""
        out: list[Instance] = []
        if inst.depth >= MAX_MODULE_DEPTH:
            return out
        for module in inst.file.modules:
            out.extend(self._calls(inst, module))
        return out

    def _calls(self, inst: Instance, module: Module) -> list[Instance]:
        target = self.project.module_file(inst.file, module)
        body = module.parts.body
        if target is None or body is None:
            return []
        out = []
        envs = envs_for(inst.evaluator, module.parts.loop)
        for i, env in enumerate(envs):
            if module.parts.condition is not None:
                keep = inst.evaluator.eval(module.parts.condition, env)
                if isinstance(keep, Lit) and keep.value is False:
                    continue
            params_node = object_get(body, "params")
            given: dict[str, Item] = {}
            if params_node is not None and params_node.type == "object":
                given = dict(inst.evaluator.object(params_node, env).items)
            suffix = f"[{i}]" if module.parts.loop is not None else ""
            child = self._instance(target, {k: item.value for k, item in given.items()},
                                   f"{inst.label}>{module.name}{suffix}", inst.depth + 1)
            child.caller, child.given = inst.file.name, given
            out.append(child)
        return out

    def _outputs(self, inst: Instance, module: Module) -> Value:
        target = self.project.module_file(inst.file, module)
        if target is None:
            return ANY
        if module.parts.loop is not None or inst.depth >= MAX_MODULE_DEPTH:
            return module_output_kinds(target)
        key = module.decl.node.id
        if key not in inst.children:
            inst.children[key] = None  # guards against a module reading its own outputs
            calls = self._calls(inst, module)
            inst.children[key] = calls[0] if calls else None
        child = inst.children[key]
        if child is None:
            return module_output_kinds(target) if key in inst.children else ANY
        items: dict[str, Item] = {}
        for name, decl in target.outputs.items():
            value = child.evaluator.eval(decl.value) if decl.value is not None else ANY
            items[name] = Item(value, (0, 0))
        return Obj(items)

    def instances(self) -> list[Instance]:
        """Main and every module instance below it, depth first."""
        root = self.root()
        if root is None:
            return []
        out = [root]
        stack = [root]
        while stack:
            current = stack.pop()
            for child in reversed(self.calls(current)):
                out.append(child)
                stack.append(child)
        return out


def envs_for(evaluator: Evaluator, loop: Loop | None) -> list[dict[str, Value]]:
    """Scopes for a resource/module loop: one per item when the array is known, else one representative."""
    if loop is None:
        return [{}]
    envs = evaluator.loop_envs(loop)
    if envs is not None:
        return envs
    iterable = evaluator.eval(loop.iterable)
    first = iterable.items[0].value if isinstance(iterable, Arr) and iterable.items else ANY
    env: dict[str, Value] = {}
    if loop.item:
        env[loop.item] = first
    if loop.index:
        env[loop.index] = Unknown("int")
    return [env]


def resource_bodies(
    evaluator: Evaluator, resource: Resource, *, skip_false: bool
) -> list[Obj]:
    """The body of a resource as values, one per loop iteration (a representative one when unknown)."""
    body = resource.parts.body
    if body is None:
        return []
    out = []
    for env in envs_for(evaluator, resource.parts.loop):
        if resource.parts.condition is not None and skip_false:
            keep = evaluator.eval(resource.parts.condition, env)
            if isinstance(keep, Lit) and keep.value is False:
                continue
        value = evaluator.object(body, env)
        out.append(Obj({k: i for k, i in value.items.items() if k not in BICEP_KEYWORDS}))
    return out


def render(project: Project) -> list[RenderedResource]:
    """Every resource that would deploy under main.parameters.json, with values substituted."""
    out: list[RenderedResource] = []
    for inst in Renderer(project).instances():
        for res in inst.file.all_resources():
            if res.existing:
                continue
            for body in resource_bodies(inst.evaluator, res, skip_false=True):
                out.append(RenderedResource(inst.file.name, inst.label, res.name, res.type, res.api_version, body, res))
    return out


# -- entry points -----------------------------------------------------------------------------------------
def _type_node(res: Resource) -> ts.Node:
    named = kids(res.decl.node)
    return named[1] if len(named) > 1 else res.decl.node


def _check_file(
    file: BicepFile, evaluator: Evaluator, backend: Backend, *, rendered: str, out: list[Finding]
) -> None:
    note = f" [rendered: {rendered}]" if rendered else ""
    checker = _Checker(file.name, note)
    for res in file.all_resources():
        lookup = backend.resource(res.type, res.api_version)
        if lookup.body is None and not rendered and lookup.severity != "skip":
            line, col = pos(_type_node(res))
            rule = "types/unknown-resource-type" if lookup.severity == "error" else "types/no-type-data"
            severity: Severity = "error" if lookup.severity == "error" else "warning"
            out.append(Finding(rule, severity, file.name, line, f"{res.name}: {lookup.problem}", col))
        if res.existing:
            continue
        at = pos(res.decl.name_node)
        # evaluate every body, schema or not: evaluation itself finds reads that would fail
        for body in resource_bodies(evaluator, res, skip_false=bool(rendered)):
            if lookup.body is None:
                continue
            if isinstance(lookup.body, ObjectSchema):
                issues = checker.check_object(body, lookup.body, "", at)
            else:
                issues = checker.check_discriminated(body, lookup.body, "", at)
            for issue in issues:
                out.append(Finding(issue.rule, issue.severity, file.name, issue.at[0],
                                   f"{res.name} ({res.type}): {issue.message}", issue.at[1]))
    if not rendered:
        _check_reads(file, backend, out)
    _check_evaluation(file, evaluator, note, out)


def _check_evaluation(file: BicepFile, evaluator: Evaluator, note: str, out: list[Finding]) -> None:
    """Reads the deployment would fail on, found while evaluating every variable and output."""
    for name in file.variables:
        evaluator.variable(name)
    for decl in file.outputs.values():
        if decl.value is not None:
            evaluator.eval(decl.value)
    for node, message in evaluator.problems.values():
        line, col = pos(node)
        out.append(Finding("semantics/missing-key", "error", file.name, line, f"{text(node)}: {message}{note}", col))


def _check_call(inst: Instance, out: list[Finding]) -> None:
    """The values a module call passes meet the module's declared types, @allowed and bounds."""
    for name, item in inst.given.items():
        decl = inst.file.params.get(name)
        if decl is None:
            continue  # an unknown param: the semantics layer reports it
        for severity, message in param_problems(item.value, decl):
            if severity == "error":
                out.append(Finding("semantics/module-param-type", "error", inst.caller, item.at[0],
                                   f"{message} [rendered: {inst.label}]", item.at[1]))


def _check_reads(file: BicepFile, backend: Backend, out: list[Finding]) -> None:
    """`res.properties.x.y` reads must name properties of the resource type (read-only ones included)."""
    symbols = {r.name: r for r in file.resources}
    for node in iter_nodes(file.root):
        if node.type not in ("member_expression", "subscript_expression"):
            continue
        parent = node.parent
        if parent is not None and parent.type in ("member_expression", "subscript_expression") and (
            parent.child_by_field_name("object") == node
        ):
            continue  # only the outermost access of a chain
        if parent is not None and parent.type == "call_expression" and parent.child_by_field_name("function") == node:
            continue  # `res.listKeys()`: a resource function, not a property
        chain: list[tuple[str, ts.Node]] = []
        current: ts.Node | None = node
        while current is not None and current.type in ("member_expression", "subscript_expression"):
            if current.type == "member_expression":
                prop = current.child_by_field_name("property")
                if prop is not None:
                    chain.insert(0, (text(prop), prop))
            else:
                index = current.child_by_field_name("index")
                key = string_value(index) if index is not None else None
                obj = current.child_by_field_name("object")
                if key is not None:
                    chain.insert(0, (key, index if index is not None else current))
                elif obj is not None and obj.type != "identifier":
                    chain = []  # computed key: nothing below it can be checked
            current = current.child_by_field_name("object")
        if current is None or current.type != "identifier" or not chain:
            continue
        res = symbols.get(text(current))
        if res is None:
            continue
        lookup = backend.resource(res.type, res.api_version)
        schema: Schema | None = lookup.body
        for i, (key, key_node) in enumerate(chain):
            if schema is None or isinstance(schema, AnySchema):
                break
            if isinstance(schema, DiscriminatedSchema):
                break
            if isinstance(schema, UnionSchema):
                objects = [e for e in schema.elements if isinstance(e, ObjectSchema)]
                if len(objects) != 1:
                    break
                schema = objects[0]
            if not isinstance(schema, ObjectSchema):
                break
            member = schema.props.get(key)
            if member is None:
                member = next((p for k, p in schema.props.items() if k.lower() == key.lower()), None)
            if member is None:
                if schema.additional is not None:
                    schema = schema.additional
                    continue
                dotted = ".".join(k for k, _ in chain[: i + 1])
                line, col = pos(key_node)
                close = difflib.get_close_matches(key, list(schema.props), n=1, cutoff=0.6)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                out.append(Finding("types/unknown-property", "error", file.name, line,
                                   f"{res.name}.{dotted}: {res.type}@{res.api_version} has no property {key!r}{hint}",
                                   col))
                break
            schema = member.type


def _static_outputs(project: Project, file: BicepFile) -> Callable[[Module], Value]:
    return lambda module: module_output_kinds(project.module_file(file, module))


def check_types(project: Project, backend: Backend) -> list[Finding]:
    """Static type check of every resource in every file of the project."""
    out: list[Finding] = []
    for file in list(project.files.values()):
        if file.root.has_error:
            continue
        evaluator = Evaluator(file, module_outputs=_static_outputs(project, file))
        _check_file(file, evaluator, backend, rendered="", out=out)
    return sorted_findings(out)


def check_rendered_types(project: Project, backend: Backend) -> list[Finding]:
    """Type check with main.parameters.json substituted through every module call."""
    out: list[Finding] = []
    if any(f.root.has_error for f in project.files.values()):
        return []
    for inst in Renderer(project).instances():
        _check_file(inst.file, inst.evaluator, backend, rendered=inst.label, out=out)
        _check_call(inst, out)
    return sorted_findings(out)
