"""policy/deployment-batch-size: model deployments are written one at a time (RequestConflict otherwise)."""

from __future__ import annotations

from collections.abc import Iterator

import tree_sitter as ts

from scaffolder.validate._eval import Lit, literal
from scaffolder.validate._model import call_name, iter_nodes, kids, pos, text
from scaffolder.validate.rules._base import DEPLOYMENTS, FileContext, Hit, Rule


def _batch_size(decorators: tuple[ts.Node, ...], at_node: ts.Node, what: str) -> Iterator[Hit]:
    call = next((c for c in decorators if call_name(c) == "batchSize"), None)
    if call is None:
        yield pos(at_node), f"{what} needs @batchSize(1): parallel deployment writes fail with RequestConflict"
        return
    args = call.child_by_field_name("arguments")
    if ([literal(a) for a in kids(args)] if args is not None else []) != [Lit(1)]:
        yield pos(call), f"{what} has {text(call)}; it must be @batchSize(1)"


def _dependencies(ctx: FileContext) -> dict[str, set[str]]:
    symbols = {r.name for r in ctx.file.resources} | {m.name for m in ctx.file.modules}
    edges: dict[str, set[str]] = {}
    for decl in ctx.file.decls:
        if decl.kind in ("resource", "module"):
            edges[decl.name] = ({text(n) for n in iter_nodes(decl.node) if n.type == "identifier"} & symbols) - {
                decl.name}
    return edges


def _ordering(ctx: FileContext) -> Iterator[Hit]:
    """Separate deployment declarations (or deploying modules) must be chained by dependencies."""
    writers = [(r.name, r.decl.name_node) for r in ctx.file.resources
               if r.type.lower() == DEPLOYMENTS and not r.existing]
    writers += [(m.name, m.decl.name_node) for m in ctx.file.modules if ctx.deploys_models(m)]
    if len(writers) < 2:
        return
    edges = _dependencies(ctx)

    def reaches(a: str, b: str) -> bool:
        stack, seen = [a], set()
        while stack:
            cur = stack.pop()
            if cur == b:
                return True
            if cur not in seen:
                seen.add(cur)
                stack.extend(edges.get(cur, ()))
        return False

    for i, (a, _node_a) in enumerate(writers):
        for b, node_b in writers[i + 1:]:
            if not reaches(a, b) and not reaches(b, a):
                yield pos(node_b), (f"model deployments {a!r} and {b!r} may be written in parallel; "
                                    "chain them with dependsOn")


def check(ctx: FileContext) -> Iterator[Hit]:
    """@batchSize(1) on deployment loops and deploying module loops; dependsOn between separate ones."""
    for d in ctx.declared:
        if d.kind == DEPLOYMENTS and d.res.parts.loop is not None:
            yield from _batch_size(d.res.decl.decorators, d.res.decl.name_node, f"deployment loop {d.res.name!r}")
    for mod in ctx.file.modules:
        if mod.parts.loop is not None and ctx.deploys_models(mod):
            yield from _batch_size(mod.decl.decorators, mod.decl.name_node, f"module loop {mod.name!r}")
    yield from _ordering(ctx)


RULE = Rule(
    "deployment-batch-size",
    "model deployments are written one at a time: @batchSize(1) on deployment loops and on module loops "
    "that deploy models, and dependsOn between separate deployment declarations",
    check,
    ("CKV2_FOUNDRY_1",),
    "checkov sees the decorator of a resource loop, but not module loops or dependsOn ordering",
)
