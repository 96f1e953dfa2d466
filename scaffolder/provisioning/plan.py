"""The resource plan: the repo's own infra/main.bicep, evaluated for one target (pure apart from reading infra/).

`plan_from_bicep` evaluates main.bicep with main.parameters.json and the values azd would pass
(environment, location, deploying principal) through the one Bicep evaluator `check` also uses, in its
concrete mode. Values that exist only once another resource is created (a managed identity's principal id)
stay the evaluator's `Runtime` values, and functions of them `Deferred` ones, resolved while applying.
Dependencies are the Bicep's own: `parent`, `scope`, `dependsOn` (a module stands for what it deploys),
references to another resource's id or runtime properties, `@batchSize(1)`, plus the registry's one-write-per-parent
rule.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scaffolder.errors import ParameterError, ProvisionError
from scaffolder.provisioning import registry
from scaffolder.provisioning.reads import missing_property
from scaffolder.validate import (
    Deferred,
    InvalidParameter,
    InvalidTemplate,
    Runtime,
    Scope,
    UnsupportedBicep,
    evaluate,
    resource_id,
)

RESOURCE_GROUP = "resourceGroup"
RG_TYPE = "Microsoft.Resources/resourceGroups"


@dataclass(frozen=True)
class Target:
    """Where and as whom to provision: the values azd would pass besides the parameters file."""

    subscription_id: str
    resource_group: str
    location: str
    environment: str
    principal_id: str = ""
    principal_type: str = "User"
    restore: bool = False
    # The rest of the azd environment (.azure/<env>/.env: SERVICE_API_IMAGE_NAME after `azd deploy`,
    # APP_AUTH_AUDIENCE, ...), which main.parameters.json substitutes like azd does.
    saved_env: tuple[tuple[str, str], ...] = ()

    @property
    def resource_group_id(self) -> str:
        """ARM id of the resource group (`resourceGroup().id`)."""
        return f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"

    def azd_env(self) -> dict[str, str]:
        """The azd environment values main.parameters.json substitutes (${AZURE_ENV_NAME}, ...)."""
        return {
            **dict(self.saved_env),
            "AZURE_ENV_NAME": self.environment,
            "AZURE_LOCATION": self.location,
            "AZURE_SUBSCRIPTION_ID": self.subscription_id,
            "AZURE_RESOURCE_GROUP": self.resource_group,
            "AZURE_PRINCIPAL_ID": self.principal_id,
            "AZURE_PRINCIPAL_TYPE": self.principal_type,
        }


@dataclass(frozen=True)
class PlannedResource:
    """One ARM resource: type, API version, where it lives, its name and the PUT body."""

    key: str
    type: str
    api_version: str
    parent_id: str
    name: str | Deferred
    body: Mapping[str, Any]
    depends_on: tuple[str, ...] = ()
    write_only: tuple[str, ...] = ()
    # A resource group that exists is used as it is: a PUT would replace tags someone else set.
    adopt_existing: bool = False
    extension: bool = False
    # Declared `existing` and read for its runtime properties: never written.
    read_only: bool = False
    where: str = ""
    # The planned resource this one lives under (its `parent` or `scope`), if the plan deploys it.
    parent_key: str | None = None

    def id_for(self, name: str) -> str:
        """The ARM id of this resource given its (resolved) name."""
        return resource_id(self.type, self.parent_id, name, self.extension)


@dataclass(frozen=True)
class ResourcePlan:
    """Every resource the Bicep deploys for one target, in dependency order, and its outputs."""

    target: Target
    resources: tuple[PlannedResource, ...]
    outputs: Mapping[str, Any] = field(default_factory=dict)
    output_types: Mapping[str, str] = field(default_factory=dict)
    # `@secure()` outputs (never returned, printed or written to .env) and the values of `@secure()` params.
    secure_outputs: frozenset[str] = frozenset()
    secret_values: frozenset[str] = frozenset()
    # Planned resource key of each resource id (lower case) a Runtime value reads.
    key_of: Mapping[str, str] = field(default_factory=dict)

    def get(self, key: str) -> PlannedResource:
        """The planned resource with this key."""
        for res in self.resources:
            if res.key == key:
                return res
        raise KeyError(key)

    def levels(self) -> dict[str, int]:
        """Each resource's depth in the dependency graph: 0 needs nothing, n needs something at n-1."""
        levels: dict[str, int] = {}
        for res in self.resources:
            levels[res.key] = 1 + max((levels[d] for d in res.depends_on), default=-1)
        return levels

    @property
    def keys(self) -> tuple[str, ...]:
        """Resource keys in dependency order."""
        return tuple(r.key for r in self.resources)

    def of_type(self, resource_type: str) -> list[PlannedResource]:
        """Planned (written) resources of one ARM type."""
        low = resource_type.lower()
        return [r for r in self.resources if r.type.lower() == low and not r.read_only]

    def resolve(self, value: Any, states: Mapping[str, Mapping[str, Any]]) -> Any:
        """Runtime and Deferred values filled in from the resources' ARM JSON (`states` by planned key).

        KeyError names the unanswered read (`<symbol.path>`) when a resource or a property in it is missing.
        """
        if isinstance(value, Runtime):
            node: Any = states.get(self.key_of[value.rid.lower()])
            try:
                for part in value.path:
                    node = node[part]
            except (KeyError, IndexError, TypeError):
                node = None
            if node in (None, ""):
                raise KeyError(str(value))
            return node
        if isinstance(value, Deferred):
            return value.apply([self.resolve(a, states) for a in value.args])
        if isinstance(value, Mapping):
            return {k: self.resolve(v, states) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.resolve(v, states) for v in value]
        return value


def _leaves(*values: Any) -> Iterator[Any]:
    """The scalars and Runtime values inside values (through objects, arrays and Deferred arguments), in order."""
    for value in values:
        if isinstance(value, Deferred):
            yield from _leaves(*value.args)
        elif isinstance(value, Mapping):
            yield from _leaves(*value.values())
        elif isinstance(value, list | tuple):
            yield from _leaves(*value)
        else:
            yield value


def runtime_reads(*values: Any) -> list[Runtime]:
    """The Runtime values inside values, in order."""
    return [v for v in _leaves(*values) if isinstance(v, Runtime)]


def _mentions(value: Any, ids: Mapping[str, str]) -> set[str]:
    """Keys of planned resources whose id (or a sub-path of it) a string in value names."""
    texts = [v.lower() for v in _leaves(value) if isinstance(v, str)]
    return {key for rid, key in ids.items() for low in texts if low == rid or low.startswith(rid + "/")}


def resource_group_resource(target: Target) -> PlannedResource:
    """The target resource group: created in the target's location when missing, adopted as it is otherwise."""
    return PlannedResource(
        key=RESOURCE_GROUP,
        type=RG_TYPE,
        api_version=registry.resource_types()[RG_TYPE.lower()].api_version,
        parent_id=f"/subscriptions/{target.subscription_id}",
        name=target.resource_group,
        body={"location": target.location, "tags": {"azd-env-name": target.environment}},
        adopt_existing=True,
    )


# azd's defaults for azure.yaml's `infra:` block (schemas/v1.0/azure.yaml.json in Azure/azure-dev: provider
# "bicep", path "infra", module "main"), the only templates this plan reads.
AZD_INFRA = {"provider": "bicep", "path": "infra", "module": "main"}


def _check_azd_infra(directory: Path, nothing: str) -> None:
    """Refuse an azure.yaml that points azd at other templates than infra/main.bicep (the plan would differ)."""
    import yaml

    from scaffolder import safeio

    if not (directory / "azure.yaml").is_file():
        return
    if safeio.has_link(directory, "azure.yaml"):
        raise ParameterError(f"azure.yaml is a symbolic link; not reading through it; {nothing}",
                             hint="make azure.yaml a regular file")
    try:
        doc = safeio.load_yaml(safeio.read_beneath(directory, "azure.yaml")[0].decode("utf-8", errors="replace"))
    except (OSError, safeio.UnsafeInputError, yaml.YAMLError) as exc:
        shown = safeio.describe(exc) if isinstance(exc, OSError | safeio.UnsafeInputError) else "not valid YAML"
        raise ParameterError(f"azure.yaml cannot be read: {shown}; {nothing}", hint="fix azure.yaml") from None
    infra = doc.get("infra") if isinstance(doc, dict) else None
    if not isinstance(infra, dict):
        return
    for key, default in AZD_INFRA.items():
        value = str(infra.get(key) or default).strip().removeprefix("./").rstrip("/")
        if value != default:
            raise ParameterError(
                f"azure.yaml sets infra.{key}: {value}; scaffolder provisions only {default!r} "
                f"(infra/main.bicep), so it would not deploy what azd deploys; {nothing}",
                hint=f"use `azd up`, or move the templates to infra/main.bicep and drop infra.{key}",
            )
    if infra.get("layers"):
        raise ParameterError(f"azure.yaml sets infra.layers; scaffolder provisions only infra/main.bicep; {nothing}",
                             hint="use `azd up`")


def plan_from_bicep(
    directory: Path | str, target: Target, group_location: str | None = None, *, destroying: bool = False
) -> ResourcePlan:
    """The pure plan: what the repo's infra/main.bicep deploys for this target.

    `group_location` is the location of the resource group when it already exists: `resourceGroup().location`
    is that group's location in ARM, not the location asked for (which only applies when the group is created).
    `destroying` words the errors for `destroy` (nothing deleted; `azd down`).
    """
    scope = Scope(target.subscription_id, target.resource_group, group_location or target.location)
    nothing = "nothing was deleted" if destroying else "nothing was written"
    _check_azd_infra(Path(directory), nothing)
    try:
        evaluated = evaluate(Path(directory), scope, target.azd_env(), {"restoreSoftDeleted": target.restore})
    except InvalidParameter as exc:
        raise ParameterError(
            f"{exc.where}: {exc.construct}; {nothing}",
            hint="fix the value in infra/main.parameters.json (or the module call) to fit the declaration",
            code="InvalidTemplate",
        ) from None
    except InvalidTemplate as exc:
        raise ProvisionError(
            f"{exc.where}: {exc.construct}; {nothing}",
            hint="fix the Bicep (the compiler reports it too, as BCP053)",
            code="InvalidTemplate",
        ) from None
    except UnsupportedBicep as exc:
        command = ("delete this environment with `azd down`" if destroying
                   else "deploy this repo with `azd up` (the real Bicep compiler and ARM)")
        raise ProvisionError(
            f"{exc.where}: scaffolder cannot evaluate {exc.construct}; {nothing}",
            hint=f"{command}, or simplify the construct",
            code="UnsupportedBicep",
        ) from None
    deployed = evaluated.resources
    key_of: dict[str, str] = {}
    where_of: dict[str, str] = {}
    for res in deployed:
        if isinstance(res.name, str):
            rid = res.id_for(res.name).lower()
            if rid in key_of:
                # ARM rejects a template that defines one resource twice; the plan would ping-pong between them.
                raise ProvisionError(
                    f"{res.where}: {res.id_for(res.name)} is already declared at {where_of[rid]}; nothing was written",
                    hint="give each resource its own name, or remove one of the declarations",
                    code="InvalidTemplate",
                )
            key_of[rid] = res.key
            where_of[rid] = res.where
    reads: list[PlannedResource] = []
    for rid, (rtype, api_version, where) in evaluated.reads.items():
        if rid.lower() not in key_of:
            parent, _, name = rid.rpartition("/")
            parent = parent.rsplit("/providers/", 1)[0] if rtype.count("/") == 1 else parent.rsplit("/", 1)[0]
            key = f"existing:{rtype.split('/')[-1]}/{name}"
            key_of[rid.lower()] = key
            reads.append(
                PlannedResource(
                    key, rtype, api_version, parent, name, {}, (RESOURCE_GROUP,), read_only=True, where=where
                )
            )
    ids = {rid: key for rid, key in key_of.items()}
    key_of[target.resource_group_id.lower()] = RESOURCE_GROUP  # the parent of top-level resources
    rg = resource_group_resource(target)
    planned: list[PlannedResource] = [rg, *reads]
    last_in_batch: dict[str, str] = {}
    last_under_parent: dict[str, str] = {}
    for res in deployed:
        deps = {RESOURCE_GROUP, *res.depends_on}
        deps |= {key_of[r.rid.lower()] for r in runtime_reads(res.name, res.body)}
        deps |= _mentions(res.body, ids) | _mentions(res.name, ids)
        owner = key_of.get(res.parent_id.lower())
        if owner is not None:
            deps.add(owner)
        if res.batch is not None:
            if res.batch in last_in_batch:
                deps.add(last_in_batch[res.batch])
            last_in_batch[res.batch] = res.key
        entry = registry.lookup(res.type)
        if entry is not None and entry.serialise_under_parent:
            # One write at a time per parent (a Foundry account takes no parallel writes).
            lane = res.parent_id.lower()
            if lane in last_under_parent:
                deps.add(last_under_parent[lane])
            last_under_parent[lane] = res.key
        deps.discard(res.key)
        planned.append(
            PlannedResource(
                key=res.key,
                type=res.type,
                api_version=res.api_version,
                parent_id=res.parent_id,
                name=res.name,
                body=res.body,
                depends_on=tuple(sorted(deps)),
                write_only=entry.write_only if entry is not None else (),
                adopt_existing=res.create_only,
                extension=res.extension,
                where=res.where,
                parent_key=owner,
            )
        )
    outputs = evaluated.outputs
    _check_reads(planned, outputs, key_of)
    return ResourcePlan(
        target,
        tuple(_dependency_order(planned)),
        outputs,
        dict(evaluated.output_types),
        evaluated.secure_outputs,
        evaluated.secret_values,
        key_of,
    )


def read_label(read: Runtime, key_of: Mapping[str, str]) -> str:
    """A runtime read as `<planned key>.<path>`, for messages."""
    return ".".join([key_of[read.rid.lower()], *map(str, read.path)])


def _check_reads(planned: list[PlannedResource], outputs: Mapping[str, Any], key_of: Mapping[str, str]) -> None:
    """Refuse a read of a property the referenced type does not have, before any request (ARM would fail there)."""
    by_key = {r.key: r for r in planned}
    readers: list[tuple[str, str, Any]] = [(r.where or r.key, r.key, (r.name, r.body)) for r in planned]
    readers += [(f"output {name}", f"output {name}", value) for name, value in outputs.items()]
    for where, reader, value in readers:
        for read in runtime_reads(value):
            target = by_key[key_of[read.rid.lower()]]
            missing = missing_property(target.type, read.path)
            if missing is not None:
                raise ProvisionError(
                    f"{where}: {reader} reads {read_label(read, key_of)}, but {target.type} "
                    f"has no property `{missing}` there; nothing was written",
                    hint="fix the property name (the Bicep compiler reports it as BCP053)",
                    code="InvalidTemplate",
                )


def _dependency_order(resources: list[PlannedResource]) -> list[PlannedResource]:
    by_key = {r.key: r for r in resources}
    done: set[str] = set()
    busy: set[str] = set()
    ordered: list[PlannedResource] = []

    def visit(res: PlannedResource) -> None:
        if res.key in done:
            return
        if res.key in busy:
            raise ProvisionError(
                f"{res.where or res.key}: the resources depend on each other in a cycle through {res.key}",
                hint="remove the circular reference (the Bicep compiler reports it too)",
                code="CircularDependency",
            )
        busy.add(res.key)
        for dep in res.depends_on:
            visit(by_key[dep])
        busy.discard(res.key)
        done.add(res.key)
        ordered.append(res)

    for res in resources:
        visit(res)
    return ordered
