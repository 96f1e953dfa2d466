"""The project's own policies for Foundry Bicep: keyless, serialised deployments, RAI, identities.

Enforced over the tree-sitter model; those checkov can express also ship as checkov YAML policies in policies/.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import tree_sitter as ts

from scaffolder.validate._eval import Evaluator, Item, Lit, Obj, Value, literal, module_output_kinds
from scaffolder.validate._findings import Finding, Severity, sorted_findings
from scaffolder.validate._model import (
    BicepFile,
    Module,
    Resource,
    call_name,
    iter_nodes,
    kids,
    pos,
    string_value,
    text,
)
from scaffolder.validate._project import Project
from scaffolder.validate._typecheck import envs_for


@dataclass(frozen=True)
class Policy:
    """One rule: its id (`policy/<slug>`), what it demands, and its checkov twins (policies/<slug>*.yaml)."""

    slug: str
    title: str
    checkov_ids: tuple[str, ...] = ()
    checkov_gap: str = ""


POLICIES: tuple[Policy, ...] = (
    Policy("deployment-batch-size",
           "model deployments are written one at a time: @batchSize(1) on deployment loops and on module loops "
           "that deploy models, and dependsOn between separate deployment declarations",
           ("CKV2_FOUNDRY_1",),
           "checkov sees the decorator of a resource loop, but not module loops or dependsOn ordering"),
    Policy("deployment-rai-policy", "model deployments name a RAI (content filter) policy", ("CKV2_FOUNDRY_2",)),
    Policy("deployment-sku", "model deployments set sku.name and sku.capacity", ("CKV2_FOUNDRY_3",)),
    Policy("local-auth-disabled",
           "key-based (local) auth is off: disableLocalAuth true on Foundry accounts, Search and Cosmos DB, "
           "DisableLocalAuth true on Application Insights, features.disableLocalAuth true on Log Analytics, "
           "allowSharedKeyAccess false on storage",
           ("CKV2_FOUNDRY_4", "CKV2_FOUNDRY_5", "CKV2_FOUNDRY_9")),
    Policy("managed-identity", "Foundry accounts and projects have a managed identity", ("CKV2_FOUNDRY_6",)),
    Policy("custom-subdomain", "Foundry accounts set customSubDomainName (Entra ID tokens need it)",
           ("CKV2_FOUNDRY_7",)),
    Policy("role-assignment-principal-type",
           "role assignments set principalType (avoids PrincipalNotFound for just-created identities)",
           ("CKV2_FOUNDRY_8",)),
    Policy("no-list-keys", "no listKeys()/list*() calls: they pull keys into the deployment",
           checkov_gap="checkov's resource policies see attributes, not function calls in vars and outputs"),
    Policy("no-secret-outputs", "no output carries a key, secret, password or credential",
           checkov_gap="checkov's Bicep policies do not cover outputs"),
    Policy("checkov-skip-reason", "every `checkov:skip=ID` comment gives a reason after a colon",
           checkov_gap="the skip comments are checkov's own input"),
)
POLICY_BY_SLUG = {p.slug: p for p in POLICIES}

DEPLOYMENTS = "microsoft.cognitiveservices/accounts/deployments"
ACCOUNTS = "microsoft.cognitiveservices/accounts"
PROJECTS = "microsoft.cognitiveservices/accounts/projects"
ROLE_ASSIGNMENTS = "microsoft.authorization/roleassignments"
# resource type -> (property path, the value that turns local auth off)
LOCAL_AUTH: dict[str, tuple[tuple[str, ...], bool]] = {
    ACCOUNTS: (("properties", "disableLocalAuth"), True),
    "microsoft.insights/components": (("properties", "DisableLocalAuth"), True),
    "microsoft.operationalinsights/workspaces": (("properties", "features", "disableLocalAuth"), True),
    "microsoft.search/searchservices": (("properties", "disableLocalAuth"), True),
    "microsoft.documentdb/databaseaccounts": (("properties", "disableLocalAuth"), True),
    "microsoft.storage/storageaccounts": (("properties", "allowSharedKeyAccess"), False),
}
SECRET_WORDS = frozenset({
    "key", "keys", "secret", "secrets", "password", "passwd", "pwd", "credential", "credentials", "sas",
})
SKIP_COMMENT = re.compile(r"checkov:skip=([A-Za-z0-9_]*)(.*)")


def _words(name: str) -> set[str]:
    """Words of an identifier: camelCase, snake_case and digits split (primaryKey1 -> primary, key).

    "key vault" stays one word: a vault's name or URI is no secret.
    """
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    words = [w.lower().rstrip("0123456789") for w in re.split(r"[^A-Za-z0-9]+|\s", spaced) if w]
    joined = " ".join(words).replace("key vault", "keyvault")
    return set(joined.split())


def _is_list_call(name: str) -> bool:
    short = name.rsplit(".", 1)[-1]
    return short.startswith("list") and short[4:5].isupper()


def _get(value: Value, path: tuple[str, ...]) -> Item | None:
    item: Item | None = None
    for key in path:
        if not isinstance(value, Obj):
            return None
        item = value.items.get(key)
        if item is None:
            return None
        value = item.value
    return item


def deploys_models(project: Project, file: BicepFile, mod: Module, seen: set[str]) -> bool:
    """Whether a module call (transitively) writes model deployments."""
    target = project.module_file(file, mod)
    if target is None or target.name in seen:
        return False
    seen.add(target.name)
    if any(r.type.lower() == DEPLOYMENTS and not r.existing for r in target.all_resources()):
        return True
    return any(deploys_models(project, target, m, seen) for m in target.modules)


class _Rules:
    def __init__(self, project: Project, file: BicepFile) -> None:
        self.project = project
        self.file = file
        self.evaluator = Evaluator(file, module_outputs=lambda m: module_output_kinds(project.module_file(file, m)))
        self.out: list[Finding] = []

    def add(self, slug: str, at: tuple[int, int], message: str, severity: Severity = "error") -> None:
        self.out.append(Finding(f"policy/{slug}", severity, self.file.name, at[0], message, at[1]))

    def here(self, item: Item | None, fallback: tuple[int, int]) -> tuple[int, int]:
        if item is not None and item.src == self.file.name and item.at != (0, 0):
            return item.at
        return fallback

    def run(self) -> list[Finding]:
        for res in self.file.all_resources():
            if res.existing:
                continue
            kind = res.type.lower()
            at = pos(res.decl.name_node)
            for body in self._bodies(res):
                if kind == DEPLOYMENTS:
                    self._deployment(res, body, at)
                if kind in LOCAL_AUTH:
                    self._local_auth(res, body, at)
                if kind in (ACCOUNTS, PROJECTS):
                    self._identity(res, body, at)
                if kind == ACCOUNTS and _get(body, ("properties", "customSubDomainName")) is None:
                    self.add("custom-subdomain", at, f"account {res.name!r} sets no properties.customSubDomainName")
                if kind == ROLE_ASSIGNMENTS and _get(body, ("properties", "principalType")) is None:
                    self.add("role-assignment-principal-type", at,
                             f"role assignment {res.name!r} sets no properties.principalType")
            if kind == DEPLOYMENTS and res.parts.loop is not None:
                self._batch_size(res.decl.decorators, res.decl.name_node, f"deployment loop {res.name!r}")
        for mod in self.file.modules:
            if mod.parts.loop is not None and deploys_models(self.project, self.file, mod, set()):
                self._batch_size(mod.decl.decorators, mod.decl.name_node, f"module loop {mod.name!r}")
        self._ordering()
        self._list_calls()
        self._outputs()
        self._skip_comments()
        return self.out

    def _bodies(self, res: Resource) -> Iterator[Obj]:
        if res.parts.body is None:
            return
        for env in envs_for(self.evaluator, res.parts.loop):
            yield self.evaluator.object(res.parts.body, env)

    # -- deployments --------------------------------------------------------------------------------------
    def _deployment(self, res: Resource, body: Obj, at: tuple[int, int]) -> None:
        rai = _get(body, ("properties", "raiPolicyName"))
        if rai is None or (isinstance(rai.value, Lit) and not rai.value.value):
            self.add("deployment-rai-policy", self.here(rai, at),
                     f"deployment {res.name!r} sets no properties.raiPolicyName (content filter)")
        for key in ("name", "capacity"):
            if _get(body, ("sku", key)) is None:
                self.add("deployment-sku", at, f"deployment {res.name!r} sets no sku.{key}")

    def _batch_size(self, decorators: tuple[ts.Node, ...], at_node: ts.Node, what: str) -> None:
        call = next((c for c in decorators if call_name(c) == "batchSize"), None)
        if call is None:
            self.add("deployment-batch-size", pos(at_node),
                     f"{what} needs @batchSize(1): parallel deployment writes fail with RequestConflict")
            return
        args = call.child_by_field_name("arguments")
        values = [literal(a) for a in kids(args)] if args is not None else []
        if values != [Lit(1)]:
            self.add("deployment-batch-size", pos(call), f"{what} has {text(call)}; it must be @batchSize(1)")

    def _ordering(self) -> None:
        writers: list[tuple[str, ts.Node]] = []
        for res in self.file.resources:
            if res.type.lower() == DEPLOYMENTS and not res.existing:
                writers.append((res.name, res.decl.name_node))
        for mod in self.file.modules:
            if deploys_models(self.project, self.file, mod, set()):
                writers.append((mod.name, mod.decl.name_node))
        if len(writers) < 2:
            return
        edges = self._dependencies()

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
                    self.add("deployment-batch-size", pos(node_b),
                             f"model deployments {a!r} and {b!r} may be written in parallel; chain them with dependsOn")

    def _dependencies(self) -> dict[str, set[str]]:
        symbols = {r.name for r in self.file.resources} | {m.name for m in self.file.modules}
        edges: dict[str, set[str]] = {}
        for decl in self.file.decls:
            if decl.kind not in ("resource", "module"):
                continue
            refs = {text(n) for n in iter_nodes(decl.node) if n.type == "identifier"} & symbols
            refs.discard(decl.name)
            edges[decl.name] = refs
        return edges

    # -- keyless ------------------------------------------------------------------------------------------
    def _local_auth(self, res: Resource, body: Obj, at: tuple[int, int]) -> None:
        path, wanted = LOCAL_AUTH[res.type.lower()]
        item = _get(body, path)
        dotted = ".".join(path)
        if item is None:
            self.add("local-auth-disabled", at, f"{res.name!r} does not set {dotted} (must be {str(wanted).lower()})")
        elif not (isinstance(item.value, Lit) and item.value.value is wanted):
            shown = repr(item.value.value) if isinstance(item.value, Lit) else "an expression"
            self.add("local-auth-disabled", self.here(item, at),
                     f"{res.name!r} sets {dotted} to {shown}; it must be literally {str(wanted).lower()}")

    def _identity(self, res: Resource, body: Obj, at: tuple[int, int]) -> None:
        item = _get(body, ("identity", "type"))
        if item is None:
            self.add("managed-identity", at, f"{res.name!r} has no managed identity (identity.type)")
        elif isinstance(item.value, Lit) and item.value.value in (None, "None"):
            self.add("managed-identity", self.here(item, at), f"{res.name!r} sets identity.type to None")

    def _list_calls(self) -> None:
        for node in iter_nodes(self.file.root):
            if node.type == "call_expression":
                name = call_name(node) or ""
                if _is_list_call(name):
                    self.add("no-list-keys", pos(node), f"{name}() pulls keys or secrets into the deployment")

    def _outputs(self) -> None:
        for name, decl in self.file.outputs.items():
            secret = _words(name) & SECRET_WORDS
            if secret:
                self.add("no-secret-outputs", pos(decl.name_node),
                         f"output {name!r} looks like a secret ({', '.join(sorted(secret))})")
                continue
            value = decl.value
            if value is None:
                continue
            secure = {n for n, d in self.file.params.items() if d.decorator("secure") is not None}
            for node in iter_nodes(value):
                if node.type == "identifier" and text(node) in secure:
                    message = f"output {name!r} returns the @secure() param {text(node)!r}"
                    self.add("no-secret-outputs", pos(node), message)
                elif node.type == "call_expression" and (call_name(node) or "").rsplit(".", 1)[-1] == "getSecret":
                    self.add("no-secret-outputs", pos(node), f"output {name!r} returns a Key Vault secret")
                elif node.type == "property_identifier" and _words(text(node)) & SECRET_WORDS:
                    self.add("no-secret-outputs", pos(node), f"output {name!r} reads {text(node)!r}, a secret")
                elif node.type == "string" and node.parent is not None and node.parent.type == "subscript_expression":
                    key = string_value(node)
                    if key and _words(key) & SECRET_WORDS:
                        self.add("no-secret-outputs", pos(node), f"output {name!r} reads {key!r}, a secret")

    def _skip_comments(self) -> None:
        for node in iter_nodes(self.file.root):
            if node.type != "comment":
                continue
            match = SKIP_COMMENT.search(text(node))
            if match is None:
                continue
            check_id, rest = match.group(1), match.group(2)
            reason = rest[1:].strip() if rest.startswith(":") else ""
            if not check_id:
                self.add("checkov-skip-reason", pos(node), "checkov:skip names no check id")
            elif not reason:
                self.add("checkov-skip-reason", pos(node),
                         f"checkov:skip={check_id} gives no reason; write `checkov:skip={check_id}: why`")


def check_policies(project: Project, only: Callable[[Policy], bool] | None = None) -> list[Finding]:
    """Every policy over every file of the project (or only the selected ones)."""
    out: list[Finding] = []
    for file in list(project.files.values()):
        if file.root.has_error:
            continue
        out.extend(_Rules(project, file).run())
    if only is not None:
        keep = {f"policy/{p.slug}" for p in POLICIES if only(p)}
        out = [f for f in out if f.rule in keep]
    return sorted_findings(out)

