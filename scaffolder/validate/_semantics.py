"""What the Bicep compiler would reject, checked over the tree-sitter model.

Unresolved symbols, module contract breaks, duplicates, a parameters file that does not match main.bicep, and
runtime values where a deploy-time constant is needed.
"""

from __future__ import annotations

import difflib

import tree_sitter as ts

from scaffolder.validate._eval import (
    ANY,
    BUILTINS,
    DECORATORS,
    NAMESPACES,
    Alt,
    Evaluator,
    Value,
    is_builtin,
    kind_of,
    module_output_kinds,
    param_problems,
    static_param,
)
from scaffolder.validate._findings import Finding, Severity, sorted_findings
from scaffolder.validate._model import (
    TRIVIA,
    BicepFile,
    Decl,
    Module,
    Resource,
    Unwrapped,
    call_name,
    iter_nodes,
    kids,
    loop_parts,
    object_get,
    object_properties,
    pos,
    property_key,
    property_value,
    string_value,
    text,
)
from scaffolder.validate._project import Project

MODULE_KEYS = frozenset({"name", "params", "scope", "dependsOn", "identity"})
EXISTING_KEYS = frozenset({"name", "parent", "scope"})
RUNTIME_SAFE = frozenset({"id", "name", "type", "apiVersion"})
TARGET_SCOPES = frozenset({"resourceGroup", "subscription", "managementGroup", "tenant", "local"})
_TYPE_NODES = frozenset({
    "type", "primitive_type", "nullable_type", "union_type", "array_type", "parenthesized_type",
    "parameterized_type", "type_arguments", "negated_type",
})


def _suggest(name: str, candidates: list[str]) -> str:
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def is_required(decl: Decl) -> bool:
    """A param without default whose type is not nullable."""
    type_node = decl.type_node
    nullable = type_node is not None and text(type_node).endswith("?")
    return decl.value is None and not nullable


class _FileChecker:
    def __init__(self, project: Project, file: BicepFile) -> None:
        self.project = project
        self.file = file
        self.out: list[Finding] = []
        self.globals: dict[str, Decl] = {}
        for decl in file.decls:
            if decl.kind not in ("output", "metadata"):
                self.globals.setdefault(decl.name, decl)
        self.used: set[str] = set()
        self.evaluator = Evaluator(file, module_outputs=self._static_outputs)
        self._runtime_memo: dict[str, str | None] = {}

    def _static_outputs(self, module: Module) -> Value:
        return module_output_kinds(self.project.module_file(self.file, module))

    def add(self, rule: str, node: ts.Node, message: str, severity: Severity = "error") -> None:
        line, col = pos(node)
        self.out.append(Finding(f"semantics/{rule}", severity, self.file.name, line, message, col))

    # -- driver -------------------------------------------------------------------------------------------
    def run(self) -> list[Finding]:
        self._duplicates()
        if self.file.target_scope is not None and self.file.target_scope not in TARGET_SCOPES:
            self.add("target-scope", self.file.root, f"unknown targetScope {self.file.target_scope!r}")
        for decl in self.file.decls:
            for call in decl.decorators:
                self._decorator(call)
            if decl.kind == "param":
                self._param(decl)
            elif decl.kind == "var" and decl.value is not None:
                self.walk(decl.value, frozenset())
            elif decl.kind == "output":
                self._output(decl)
        for res in self.file.resources:
            self._resource(res, frozenset())
        for mod in self.file.modules:
            self._module(mod)
        self._module_members()
        self._duplicate_keys()
        self._unused()
        return self.out

    # -- declarations -------------------------------------------------------------------------------------
    def _duplicates(self) -> None:
        seen: dict[tuple[bool, str], Decl] = {}
        for decl in self.file.decls:
            if decl.kind == "metadata":
                continue
            key = (decl.kind == "output", decl.name)
            if key in seen:
                first = seen[key]
                line = pos(first.name_node)[0]
                self.add("duplicate-declaration", decl.name_node,
                         f"{decl.kind} {decl.name!r} is already declared as a {first.kind} on line {line}")
            else:
                seen[key] = decl
        for res in self.file.all_resources():
            siblings = res.children
            names = [c.name for c in siblings]
            for child in siblings:
                if names.count(child.name) > 1 and child is not next(c for c in siblings if c.name == child.name):
                    self.add("duplicate-declaration", child.decl.name_node,
                             f"nested resource {child.name!r} is declared twice in {res.name!r}")

    def _decorator(self, call: ts.Node) -> None:
        name = call_name(call)
        if name is None or name not in DECORATORS:
            self.add("unknown-decorator", call, f"unknown decorator @{name or text(call)}")
        args = call.child_by_field_name("arguments")
        if args is not None:
            self.walk(args, frozenset())

    def _param(self, decl: Decl) -> None:
        default = decl.value
        if default is None:
            return
        self.walk(default, frozenset())
        for severity, message in param_problems(self.evaluator.eval(default), decl):
            if severity == "error":
                self.add("param-default", default, f"default value: {message}")

    def _output(self, decl: Decl) -> None:
        value = decl.value
        if value is None:
            return
        self.walk(value, frozenset())
        expected = static_param(decl)
        got = self.evaluator.eval(value)
        options = got.options if isinstance(got, Alt) else (got,)
        for option in options:
            kind = kind_of(option)
            if expected.kind != "any" and kind not in ("any", expected.kind):
                message = f"output {decl.name} is declared {expected.kind} but its value is {kind}"
                self.add("output-type", value, message)

    # -- identifiers --------------------------------------------------------------------------------------
    def _resolve(self, node: ts.Node, local: frozenset[str]) -> None:
        name = text(node)
        if name in local or name in NAMESPACES:
            return
        if name in self.globals:
            self.used.add(name)
            return
        if is_builtin(name):
            self.add("undefined-symbol", node, f"function {name!r} is used without calling it")
            return
        candidates = [*self.globals, *local]
        self.add("undefined-symbol", node, f"name {name!r} does not exist{_suggest(name, candidates)}")

    def walk(self, node: ts.Node, local: frozenset[str]) -> None:
        """Resolve every identifier below node; `local` holds loop and lambda variables in scope."""
        t = node.type
        if t in TRIVIA or t in _TYPE_NODES:
            return
        if t == "identifier":
            self._resolve(node, local)
        elif t == "call_expression":
            self._call(node, local)
        elif t == "member_expression":
            obj = node.child_by_field_name("object")
            if obj is not None:
                self.walk(obj, local)
        elif t == "resource_expression":
            self._resource_expression(node, local)
        elif t == "object_property":
            first = node.named_children[0] if node.named_children else None
            if first is not None and first.type == "resource_declaration":
                return  # nested resources are checked by _resource with their parent's scope
            value = property_value(node)
            if first is not None and first.type == "string":
                self.walk(first, local)
            if value is not None:
                self.walk(value, local)
        elif t == "for_statement":
            loop = loop_parts(node)
            if loop is None:
                return
            self.walk(loop.iterable, local)
            inner = local | {n for n in (loop.item, loop.index) if n}
            if loop.condition is not None:
                self.walk(loop.condition, inner)
            self.walk(loop.body, inner)
        elif t == "lambda_expression":
            parts = kids(node)
            if not parts:
                return
            head = parts[0]
            names = [text(head)] if head.type == "identifier" else [
                text(c) for c in kids(head) if c.type == "identifier"
            ]
            for body in parts[1:]:
                self.walk(body, local | frozenset(names))
        else:
            for child in node.named_children:
                self.walk(child, local)

    def _call(self, node: ts.Node, local: frozenset[str]) -> None:
        fn = node.child_by_field_name("function")
        args = node.child_by_field_name("arguments")
        if fn is not None and fn.type == "identifier":
            name = text(fn)
            decl = self.globals.get(name)
            if decl is not None and decl.kind in ("func", "import"):
                self.used.add(name)
            elif decl is not None or name in local:
                self.add("unknown-function", fn, f"{name!r} is not a function")
            elif not is_builtin(name):
                known = [n for n in self._function_names() if n]
                self.add("unknown-function", fn, f"unknown function {name!r}{_suggest(name, known)}")
        elif fn is not None and fn.type == "member_expression":
            obj = fn.child_by_field_name("object")
            prop = fn.child_by_field_name("property")
            if obj is not None and obj.type == "identifier" and text(obj) in NAMESPACES:
                name = text(prop) if prop is not None else ""
                if not (is_builtin(name) or name in DECORATORS) and prop is not None:
                    self.add("unknown-function", prop, f"unknown function {text(obj)}.{name}")
            elif obj is not None:
                self.walk(obj, local)
        elif fn is not None:
            self.walk(fn, local)
        if args is not None:
            for arg in kids(args):
                self.walk(arg, local)

    def _function_names(self) -> list[str]:
        return [*BUILTINS, *(n for n, d in self.globals.items() if d.kind == "func")]

    def _resource_expression(self, node: ts.Node, local: frozenset[str]) -> None:
        obj = node.child_by_field_name("object")
        child = node.child_by_field_name("resource")
        if obj is None or child is None:
            return
        self.walk(obj, local)
        parent = self._resource_of(obj)
        if parent is not None:
            names = [c.name for c in parent.children]
            if text(child) not in names:
                name = text(child)
                self.add("undefined-symbol", child,
                         f"resource {parent.name!r} has no nested resource {name!r}{_suggest(name, names)}")

    def _resource_of(self, node: ts.Node) -> Resource | None:
        if node.type == "identifier":
            return self.file.resource(text(node))
        if node.type == "resource_expression":
            obj = node.child_by_field_name("object")
            child = node.child_by_field_name("resource")
            parent = self._resource_of(obj) if obj is not None else None
            if parent is not None and child is not None:
                return next((c for c in parent.children if c.name == text(child)), None)
        return None

    # -- resources and modules ----------------------------------------------------------------------------
    def _controls(self, parts: Unwrapped, scope: frozenset[str]) -> frozenset[str]:
        """Walk a declaration's loop array and condition (both must be constants); the names its body sees."""
        if parts.loop is not None:
            self.walk(parts.loop.iterable, scope)
            self._constant(parts.loop.iterable, "the loop's array")
            scope = scope | {n for n in (parts.loop.item, parts.loop.index) if n}
        if parts.condition is not None:
            self.walk(parts.condition, scope)
            self._constant(parts.condition, "the condition")
        return scope

    def _resource(self, res: Resource, local: frozenset[str]) -> None:
        parts = res.parts
        scope = self._controls(parts, local)
        body = parts.body
        if body is None:
            self.add("resource-body", res.decl.node, f"resource {res.name!r} has no object body")
            return
        inner = scope | {c.name for c in res.children}
        self.walk(body, inner)
        keys = {key: value for key, _prop, value in object_properties(body)}
        if "name" not in keys:
            self.add("missing-name", res.decl.name_node, f"resource {res.name!r} has no name")
        if res.existing:
            for key, prop, _value in object_properties(body):
                if key not in EXISTING_KEYS:
                    self.add("existing-property", prop,
                             f"existing resource {res.name!r} may only set name, parent and scope, not {key!r}")
        for key in ("name", "parent", "scope"):
            if key in keys:
                self._constant(keys[key], f"{res.name}.{key}")
        if "parent" in keys:
            self._parent(res, keys["parent"])
        if "dependsOn" in keys:
            self._depends_on(keys["dependsOn"])
        for child in res.children:
            self._resource(child, inner)

    def _parent(self, res: Resource, value: ts.Node) -> None:
        target = self._resource_of(value) if value.type in ("identifier", "resource_expression") else None
        if target is None:
            if value.type == "subscript_expression":
                obj = value.child_by_field_name("object")
                target = self._resource_of(obj) if obj is not None else None
            if target is None:
                self.add("parent", value, f"parent of {res.name!r} must be a resource symbol")
                return
        if res.parent is not None:
            self.add("parent", value, f"nested resource {res.name!r} cannot also set parent")
        expected = res.type.rsplit("/", 1)[0]
        if target.type.lower() != expected.lower():
            self.add("parent", value,
                     f"{res.name!r} ({res.type}) cannot have parent {target.name!r} ({target.type}); "
                     f"its parent must be a {expected}")

    def _depends_on(self, value: ts.Node) -> None:
        if value.type != "array":
            return
        for entry in kids(value):
            node = entry
            while node.type == "subscript_expression":
                inner = node.child_by_field_name("object")
                if inner is None:
                    break
                node = inner
            name = text(node) if node.type == "identifier" else None
            ok = node.type == "resource_expression" or (
                name is not None and name in self.globals and self.globals[name].kind in ("resource", "module")
            )
            if not ok:
                self.add("depends-on", entry, f"dependsOn entries must be resources or modules, not {text(entry)!r}")

    def _module(self, mod: Module) -> None:
        parts = mod.parts
        scope = self._controls(parts, frozenset())
        env: dict[str, Value] = {n: ANY for n in scope}
        body = parts.body
        if body is None:
            self.add("resource-body", mod.decl.node, f"module {mod.name!r} has no object body")
            return
        self.walk(body, scope)
        for key, prop, value in object_properties(body):
            if key not in MODULE_KEYS:
                self.add("module-unknown-property", prop, f"module {mod.name!r} has no property {key!r}")
            if key in ("name", "scope"):
                self._constant(value, f"{mod.name}.{key}")
            if key == "dependsOn":
                self._depends_on(value)
        target = self.project.module_path(self.file, mod)
        if target is None:
            self.add("module-not-checked", mod.path_node,
                     f"module {mod.path!r} is not a local file; its contract is not checked", "warning")
            return
        module_file = self.project.module_file(self.file, mod)
        if module_file is None and target in self.project.refused:
            self.add("module-refused", mod.path_node, f"module file {mod.path!r} {self.project.refused[target][1]}")
            return
        if module_file is None:
            self.add("module-not-found", mod.path_node, f"module file {mod.path!r} does not exist")
            return
        declared = module_file.params
        given = object_get(body, "params")
        passed: dict[str, tuple[ts.Node, ts.Node]] = {}
        if given is not None and given.type == "object":
            for key, prop, value in object_properties(given):
                passed[key] = (prop, value)
        elif given is not None:
            return  # params built by an expression: not statically checkable
        for key, (prop, value) in passed.items():
            decl = declared.get(key)
            if decl is None:
                self.add("module-unknown-param", prop,
                         f"module {mod.name!r} ({mod.path}) has no parameter {key!r}{_suggest(key, list(declared))}")
                continue
            for severity, message in param_problems(self.evaluator.eval(value, env), decl):
                self.add("module-param-type", value, f"module {mod.name!r}: {message}",
                         "error" if severity == "error" else "warning")
        for name, decl in declared.items():
            if is_required(decl) and name not in passed:
                self.add("module-missing-param", mod.decl.name_node,
                         f"module {mod.name!r} ({mod.path}) needs parameter {name!r}")

    def _module_symbol(self, node: ts.Node) -> Module | None:
        if node.type == "subscript_expression":
            inner = node.child_by_field_name("object")
            if inner is None:
                return None
            node = inner
        return self.file.module(text(node)) if node.type == "identifier" else None

    def _module_members(self) -> None:
        for node in iter_nodes(self.file.root):
            if node.type not in ("member_expression", "subscript_expression"):
                continue
            obj = node.child_by_field_name("object")
            if obj is None:
                continue
            if node.type == "member_expression":
                prop = node.child_by_field_name("property")
                member = text(prop) if prop is not None else ""
                mod = self._module_symbol(obj)
                if mod is not None and member not in ("outputs", "name"):
                    self.add("module-unknown-property", node, f"module {mod.name!r} has no property {member!r}")
            else:
                index = node.child_by_field_name("index")
                member = (string_value(index) if index is not None else None) or ""
                if not member:
                    continue
            if obj.type != "member_expression":
                continue
            inner = obj.child_by_field_name("object")
            outputs = obj.child_by_field_name("property")
            if inner is None or outputs is None or text(outputs) != "outputs":
                continue
            mod = self._module_symbol(inner)
            if mod is None:
                continue
            module_file = self.project.module_file(self.file, mod)
            if module_file is not None and member not in module_file.outputs:
                names = list(module_file.outputs)
                self.add("module-unknown-output", node,
                         f"module {mod.name!r} ({mod.path}) has no output {member!r}{_suggest(member, names)}")

    # -- deploy-time constants ----------------------------------------------------------------------------
    def _constant(self, node: ts.Node, what: str) -> None:
        reason = self._runtime(node, set())
        if reason is not None:
            self.add("deploy-time-constant", node,
                     f"{what} must be known when the deployment starts, but uses {reason}")

    def _runtime(self, node: ts.Node, seen: set[str]) -> str | None:
        for sub in iter_nodes(node):
            if sub.type == "call_expression":
                name = call_name(sub) or ""
                short = name.rsplit(".", 1)[-1]
                if short == "reference" or (short.startswith("list") and short[4:5].isupper()):
                    return f"{name}()"
            elif sub.type == "member_expression":
                root, props = self._chain(sub)
                if root is None or not props:
                    continue
                name = text(root)
                decl = self.globals.get(name)
                if decl is None:
                    continue
                if decl.kind == "module" and props[0] != "name":
                    return f"{name}.{props[0]} (a module output)"
                if decl.kind == "resource" and props[0] not in RUNTIME_SAFE:
                    return f"{name}.{props[0]} (a runtime property)"
            elif sub.type == "identifier":
                name = text(sub)
                decl = self.globals.get(name)
                if decl is not None and decl.kind == "var" and decl.value is not None and name not in seen:
                    if name not in self._runtime_memo:
                        seen.add(name)
                        self._runtime_memo[name] = self._runtime(decl.value, seen)
                    found = self._runtime_memo[name]
                    if found is not None:
                        return f"{found} via variable {name!r}"
        return None

    @staticmethod
    def _chain(node: ts.Node) -> tuple[ts.Node | None, list[str]]:
        props: list[str] = []
        current: ts.Node | None = node
        while current is not None and current.type in ("member_expression", "subscript_expression"):
            if current.type == "member_expression":
                prop = current.child_by_field_name("property")
                props.insert(0, text(prop) if prop is not None else "")
            current = current.child_by_field_name("object")
        if current is not None and current.type == "identifier":
            return current, props
        return None, props

    # -- hygiene ------------------------------------------------------------------------------------------
    def _duplicate_keys(self) -> None:
        for node in iter_nodes(self.file.root):
            if node.type != "object":
                continue
            seen: dict[str, ts.Node] = {}
            for prop in node.named_children:
                if prop.type != "object_property":
                    continue
                key = property_key(prop)
                if key is None:
                    continue
                folded = key[0].lower()
                if folded in seen:
                    self.add("duplicate-property", key[1], f"property {key[0]!r} is set twice in this object")
                else:
                    seen[folded] = prop

    def _unused(self) -> None:
        for decl in self.file.decls:
            if decl.kind in ("param", "var") and decl.name not in self.used:
                self.add(f"unused-{decl.kind}", decl.name_node, f"{decl.kind} {decl.name!r} is never used", "warning")


def check_parameters_file(project: Project) -> list[Finding]:
    """main.parameters.json names only main.bicep's params, covers every required one, with fitting values."""
    main = project.main
    out: list[Finding] = []
    where = project.display(project.parameters_path)
    if main is None:
        return [Finding("params-file/no-main", "error", project.display(project.infra), 1,
                        "infra/main.bicep is missing")]
    try:
        data = project.parameters()
    except ValueError as exc:
        # At the line json names (a JSONDecodeError carries it), not line 1.
        line = getattr(exc, "lineno", 1)
        message = getattr(exc, "msg", None) or str(exc)
        return [Finding("params-file/invalid", "error", where, line, f"not valid JSON: {message}",
                        getattr(exc, "colno", 0))]
    if data is None:
        return [Finding("params-file/missing", "error", where, 1, "the parameters file is missing")]
    params = data.get("parameters")
    if not isinstance(params, dict):
        return [Finding("params-file/invalid", "error", where, 1, "no 'parameters' object")]
    declared = main.params
    values = project.parameter_values()
    for name, entry in params.items():
        line = project.key_line(name)
        decl = declared.get(name)
        if decl is None:
            out.append(Finding("params-file/unknown-param", "error", where, line,
                               f"main.bicep has no parameter {name!r}{_suggest(name, list(declared))}"))
            continue
        if not isinstance(entry, dict) or not ({"value", "reference"} & set(entry)):
            out.append(Finding("params-file/invalid", "error", where, line,
                               f"parameter {name!r} needs a 'value' (or a Key Vault 'reference')"))
            continue
        value = values.get(name)
        if value is None:
            continue
        for severity, message in param_problems(value, decl):
            if severity == "error":
                out.append(Finding("params-file/value", "error", where, line, message))
    for name, decl in declared.items():
        if is_required(decl) and name not in params:
            out.append(Finding("params-file/missing-param", "error", where, 1,
                               f"required parameter {name!r} of main.bicep has no value"))
    return out


def check_semantics(project: Project) -> list[Finding]:
    """Compiler-style checks over every Bicep file of the project, plus the parameters file."""
    out: list[Finding] = []
    for file in list(project.files.values()):
        if file.root.has_error:
            continue  # the syntax layer reports it; a broken tree would only add noise here
        out.extend(_FileChecker(project, file).run())
    if not project.single_file:
        out.extend(check_parameters_file(project))
    return sorted_findings(out)

