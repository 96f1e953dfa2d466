"""What every Bicep policy is made of: a `Rule` (id, title, checkov twins, check function) and the file it reads."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property

from scaffolder.validate._eval import Evaluator, Item, Obj, Value, module_output_kinds
from scaffolder.validate._model import BicepFile, Module, Resource, pos
from scaffolder.validate._project import Project
from scaffolder.validate._typecheck import envs_for

DEPLOYMENTS = "microsoft.cognitiveservices/accounts/deployments"
ACCOUNTS = "microsoft.cognitiveservices/accounts"
PROJECTS = "microsoft.cognitiveservices/accounts/projects"

At = tuple[int, int]
Hit = tuple[At, str]  # where (line, column) and what is wrong


@dataclass(frozen=True)
class Rule:
    """One policy: `policy/<slug>`, what it demands, its checkov twins (policies/<slug>*.yaml) and its check.

    Its fixtures are tests/fixtures/bicep/<slug>/{good,bad}.bicep (bad lines marked `// expect`), run by one
    parametrised test over every registered rule.
    """

    slug: str
    title: str
    check: Callable[[FileContext], Iterable[Hit]]
    checkov_ids: tuple[str, ...] = ()
    checkov_gap: str = ""


@dataclass(frozen=True)
class Declared:
    """A resource the file writes (not `existing`), with where it is declared and its body per loop element."""

    res: Resource
    kind: str
    at: At
    bodies: tuple[Obj, ...]


class FileContext:
    """One Bicep file of a project, read once and shared by every rule."""

    def __init__(self, project: Project, file: BicepFile) -> None:
        self.project = project
        self.file = file
        self.evaluator = Evaluator(file, module_outputs=lambda m: module_output_kinds(project.module_file(file, m)))

    @cached_property
    def declared(self) -> tuple[Declared, ...]:
        """Every written resource with its evaluated bodies (one per loop element)."""
        out = []
        for res in self.file.all_resources():
            if res.existing:
                continue
            body = res.parts.body
            envs = envs_for(self.evaluator, res.parts.loop) if body is not None else []
            bodies = tuple(self.evaluator.object(body, env) for env in envs) if body is not None else ()
            out.append(Declared(res, res.type.lower(), pos(res.decl.name_node), bodies))
        return tuple(out)

    def bodies(self, *kinds: str) -> Iterator[tuple[Resource, Obj, At]]:
        """(resource, body, declaration position) of every written resource of these types."""
        for d in self.declared:
            if d.kind in kinds:
                for body in d.bodies:
                    yield d.res, body, d.at

    def here(self, item: Item | None, fallback: At) -> At:
        """Where an evaluated value was written, when it was written in this file."""
        if item is not None and item.src == self.file.name and item.at != (0, 0):
            return item.at
        return fallback

    def deploys_models(self, mod: Module, seen: set[str] | None = None, file: BicepFile | None = None) -> bool:
        """Whether a module call (transitively) writes model deployments."""
        seen = set() if seen is None else seen
        target = self.project.module_file(file or self.file, mod)
        if target is None or target.name in seen:
            return False
        seen.add(target.name)
        if any(r.type.lower() == DEPLOYMENTS and not r.existing for r in target.all_resources()):
            return True
        return any(self.deploys_models(m, seen, target) for m in target.modules)


def get(value: Value, path: tuple[str, ...]) -> Item | None:
    """The item at a property path of an evaluated object (None when any step is missing)."""
    item: Item | None = None
    for key in path:
        if not isinstance(value, Obj):
            return None
        item = value.items.get(key)
        if item is None:
            return None
        value = item.value
    return item
