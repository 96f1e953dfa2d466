"""Typed, cached loaders over the catalog data files (models, roles, runtimes, regions, env vars)."""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict


class Runtime(StrEnum):
    """The three Foundry runtimes a generated repo can be built on."""

    RESPONSES = "responses"
    AGENTS = "agents"
    INFERENCE = "inference"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Lifecycle(_Frozen):
    """Published lifecycle of one model version (ISO dates) and the source that publishes it."""

    stage: str | None = None  # as the source labels it: GA, Preview, Legacy, Deprecated, Retired
    deprecated: dt.date | None = None
    retires: dt.date | None = None
    not_before: dt.date | None = None
    replacement: str | None = None
    replacement_by: Literal["source", "catalog"] = "source"  # "catalog": the source names none; our suggestion
    source: str | None = None  # the source of stage, retires and replacement
    deprecated_source: str | None = None  # the source of `deprecated` (the newer schedule publishes none)


RETIRING_WITHIN_DAYS = 90
# The shipped catalog is a snapshot: past this age `new` and `check` say so (a note, never a failure).
STALE_AFTER_DAYS = 60


# Where a model version stands; "unknown": a version of a catalog model that the catalog does not list.
State = Literal["current", "retiring", "deprecated", "retired", "unknown"]
# ARM's lifecycleStatus values that mean "no new customers" (models.list; Learn spells all three).
ARM_DEPRECATED = frozenset({"deprecated", "deprecating", "legacy"})


def judge_state(retires: dt.date | None, deprecated: bool, today: dt.date) -> State:
    """The one lifecycle rule (shipped catalog, live list, preflight, replacements).

    Retired on/after its date, retiring within RETIRING_WITHIN_DAYS of it, else deprecated when no longer
    offered to new customers, else current.
    """
    if retires is not None and retires <= today:
        return "retired"
    if retires is not None and (retires - today).days <= RETIRING_WITHIN_DAYS:
        return "retiring"
    return "deprecated" if deprecated else "current"


def arm_date(value: Any) -> dt.date | None:
    """A date of an ARM models.list entry (deprecation.inference), or None when absent or unparsable."""
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00")).date()
    except ValueError:
        return None


def arm_state(model: Mapping[str, Any], today: dt.date) -> tuple[State, dt.date | None, str]:
    """One ARM models.list `model` object judged by judge_state: (state, inference end, lifecycleStatus)."""
    retires = arm_date((model.get("deprecation") or {}).get("inference"))
    lifecycle = str(model.get("lifecycleStatus") or "")
    return judge_state(retires, lifecycle.lower() in ARM_DEPRECATED, today), retires, lifecycle


@dataclass(frozen=True)
class LifecycleStatus:
    """Where a model version stands on a given day, and the current model to move to (if any)."""

    state: State
    message: str
    replacement: str | None = None
    date: dt.date | None = None


class CatalogModel(_Frozen):
    """One deployable model: publisher format, versions, SKUs, the runtimes that serve it, capabilities."""

    name: str
    format: str
    kind: Literal["chat", "embeddings"]
    default_version: str
    versions: tuple[str, ...]
    skus: tuple[str, ...]
    default_capacity: int
    runtimes: tuple[Runtime, ...]
    tool_calling: bool | None = None  # None: not published (the app then keeps tools on; overridable)
    context_window: int | None = None
    max_input_tokens: int | None = None  # the input cap, when the source publishes one below the window
    max_output_tokens: int | None = None
    capabilities: str | None = None  # source id of the capability figures
    note: str | None = None
    lifecycle: dict[str, Lifecycle] = {}

    @property
    def default_sku(self) -> str:
        """The first listed SKU is the default."""
        return self.skus[0]

    def status(self, version: str, today: dt.date) -> LifecycleStatus:
        """Retired, retiring (within RETIRING_WITHIN_DAYS), deprecated (no new customers) or current.

        The replacement offered is always a model that is current on `today` (issue: a suggested replacement
        must itself be usable): the published one when it is, else the one it is replaced by, and so on.
        """
        life = self.lifecycle.get(version)
        label = f"{self.name} {version}"
        if version not in self.versions:
            known = ", ".join(self.versions)
            return LifecycleStatus("unknown", f"{label}: version not in the catalog (known: {known}); its "
                                              "lifecycle is unknown")
        if life is None:
            return LifecycleStatus("current", f"{label}: no retirement published in the catalog")
        instead, instead_text = current_replacement(life.replacement, today, life.replacement_by)
        tail = f"; {instead_text}" if instead_text else ""
        state = judge_state(life.retires, _deprecated(life, today), today)
        if state == "retired":
            return LifecycleStatus("retired", f"{label} retired on {life.retires}{tail}", instead, life.retires)
        if state == "retiring":
            return LifecycleStatus("retiring", f"{label} retires on {life.retires}{tail}", instead, life.retires)
        if state == "deprecated":
            since = f" since {life.deprecated}" if life.deprecated else f" ({life.stage.lower() if life.stage else ''})"
            until = f", retires {life.retires}" if life.retires else ""
            return LifecycleStatus(
                "deprecated", f"{label} is deprecated{since} (no new customers{until}){tail}", instead, life.retires
            )
        when = life.retires or life.not_before
        text = f"{label}: retires on {when}" if when else f"{label}: {life.stage or 'no retirement published'}"
        return LifecycleStatus("current", text, None, when)


def _deprecated(life: Lifecycle, today: dt.date) -> bool:
    """No new customers: from the published deprecation date, or the stage when no date is published."""
    if life.deprecated is not None:
        return life.deprecated <= today
    return life.stage in ("Deprecated", "Legacy")


def current_replacement(
    name: str | None, today: dt.date, by: Literal["source", "catalog"] = "source"
) -> tuple[str | None, str]:
    """The first model of the replacement chain starting at `name` that is current on `today`, and how to say it.

    `by` says whose replacement `name` is: the source's, or this catalog's own suggestion (said so). When no link
    of the chain is current, the first still-deployable (retiring) one is offered with its date.
    """
    if not name:
        return None, ""
    whose = "replacement" if by == "source" else "suggested replacement (not from the source)"
    known = models()
    if name not in known:
        return None, f"{whose}: {name} (not in this catalog)"
    seen: set[str] = set()
    candidate: str | None = name
    fallback: tuple[str, dt.date | None] | None = None
    while candidate and candidate in known and candidate not in seen:
        seen.add(candidate)
        model = known[candidate]
        life = model.lifecycle.get(model.default_version)
        state = judge_state(life.retires, _deprecated(life, today), today) if life else "current"
        if state == "current":
            said = f"{whose}: {candidate}"
            return candidate, said if candidate == name else f"{said} ({name}, the one named, is not current)"
        if state == "retiring" and fallback is None and life is not None:
            fallback = (candidate, life.retires)
        candidate = life.replacement if life else None
    if fallback is not None:
        return fallback[0], f"{whose}: {fallback[0]} (still deployable; retires {fallback[1]})"
    return None, f"{whose} {name} is no longer deployable and names no current successor; see `scaffolder models`"


class Role(_Frozen):
    """A built-in Azure role, keyed by its definition GUID."""

    key: str
    id: str
    name: str
    grants: str
    formerly: str | None = None


class RoleGrant(_Frozen):
    """A role granted at a scope of the generated infrastructure."""

    role: str
    scope: Literal["account", "project", "appInsights", "search"]
    # Only in a tool's needs (catalog/tools.yaml), where one list serves every principal; a runtime's RoleSet
    # says the principal by its key.
    principal: Literal["app", "developer", "project"] | None = None


class RoleSet(_Frozen):
    """Roles for the app identity, the deploying developer and the project's managed identity."""

    app: tuple[RoleGrant, ...]
    developer: tuple[RoleGrant, ...]
    project: tuple[RoleGrant, ...] = ()


class RuntimeProfile(_Frozen):
    """What one runtime needs from the infrastructure and what its app reads."""

    key: Runtime
    title: str
    summary: str
    token_scope: str
    model_formats: tuple[str, ...]
    regions: Literal["responses", "any"]
    roles: RoleSet
    partner_roles: RoleSet | None = None
    env: tuple[str, ...]


class EnvVar(_Frozen):
    """One environment variable of the shared table."""

    name: str
    description: str
    example: str
    required: bool


# libyaml's loader is about ten times faster than the pure-Python one; it matters for `new` start-up.
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _load(name: str) -> Any:
    text = resources.files(__name__).joinpath(name).read_text(encoding="utf-8")
    return yaml.load(text, Loader=YAML_LOADER)


class Source(_Frozen):
    """A public page the catalog's facts come from, with the date the page itself carries."""

    key: str
    title: str
    url: str
    file: str | None = None
    ms_date: dt.date


@cache
def _models_doc() -> dict[str, Any]:
    doc: dict[str, Any] = _load("models.yaml")
    return doc


@cache
def models() -> dict[str, CatalogModel]:
    """All catalog models by name, in file order."""
    data = _models_doc()["models"]
    return {name: CatalogModel(name=name, **body) for name, body in data.items()}


@cache
def sources() -> dict[str, Source]:
    """The pages the model catalog cites, by id."""
    return {k: Source(key=k, **v) for k, v in _models_doc()["sources"].items()}


def sources_date() -> dt.date:
    """When the model catalog's sources were last read in full."""
    return dt.date.fromisoformat(str(_models_doc()["sources_date"]))


def staleness_note(today: dt.date) -> str | None:
    """One line when the shipped catalog's sources are older than STALE_AFTER_DAYS; None otherwise."""
    age = (today - sources_date()).days
    if age <= STALE_AFTER_DAYS:
        return None
    return (f"the shipped model catalog was checked against its sources on {sources_date()} ({age} days ago); "
            "lifecycle dates may have moved: `scaffolder models --live --refresh --location L` reads them from Azure")


@cache
def roles() -> dict[str, Role]:
    """All roles by key."""
    return {key: Role(key=key, **body) for key, body in _load("roles.yaml")["roles"].items()}


@cache
def runtimes() -> dict[Runtime, RuntimeProfile]:
    """All runtime profiles."""
    data = _load("runtimes.yaml")["runtimes"]
    return {Runtime(key): RuntimeProfile(key=Runtime(key), **body) for key, body in data.items()}


@cache
def envvars() -> dict[str, EnvVar]:
    """The environment variable table, by name."""
    return {name: EnvVar(name=name, **body) for name, body in _load("envvars.yaml")["envvars"].items()}


@cache
def _regions() -> dict[str, tuple[str, ...]]:
    return {key: tuple(value) for key, value in _load("regions.yaml").items()}


def normalize_region(value: str) -> str:
    """The one region normaliser: 'Sweden Central' -> 'swedencentral', as ARM and the catalog spell regions."""
    return "".join(value.split()).lower()


def azure_regions() -> tuple[str, ...]:
    """Public Azure region names."""
    return _regions()["azure"]


def runtime_regions(runtime: Runtime) -> tuple[str, ...]:
    """Regions where the runtime is offered (every Azure region for inference)."""
    profile = runtimes()[runtime]
    return _regions()["responses"] if profile.regions == "responses" else azure_regions()


def models_for(runtime: Runtime) -> list[CatalogModel]:
    """Catalog models the runtime can serve."""
    return [m for m in models().values() if runtime in m.runtimes]


def serves(runtime: Runtime, model: str, fmt: str) -> bool:
    """Whether the runtime serves the model: the catalog's per-model runtimes; outside the catalog, the publisher."""
    known = models().get(model)
    if known is not None:
        return runtime in known.runtimes
    return fmt in runtimes()[runtime].model_formats


# Without a published context window the generated app keeps a conservative budget (about 32k characters).
DEFAULT_CONTEXT_TOKENS = 8000


# Share of the usable input the inference app's history may fill by default. The app counts tokens with an
# offline estimate (4 characters per token) that undercounts code and non-Latin scripts, so the default keeps a
# margin below the real limit instead of equalling it (docs/conversation-state.md of a generated repo says so).
CONTEXT_SAFETY = 0.5


def context_budget(model: str) -> int:
    """Default token budget of the inference app's history for this model.

    Half (CONTEXT_SAFETY) of the usable input: the context window minus room for the longest answer (at most half
    the window), and never above the published input cap. DEFAULT_CONTEXT_TOKENS when the window is not published.
    """
    known = models().get(model)
    if known is None or not known.context_window:
        return DEFAULT_CONTEXT_TOKENS
    reserve = min(known.max_output_tokens or 0, known.context_window // 2)
    usable = min(known.context_window - reserve, known.max_input_tokens or known.context_window)
    return int(usable * CONTEXT_SAFETY)


def suggest(value: str, choices: list[str] | tuple[str, ...], n: int = 3) -> list[str]:
    """Close matches for a mistyped value, case-insensitively."""
    lowered = {c.lower(): c for c in choices}
    return [lowered[m] for m in difflib.get_close_matches(value.lower(), list(lowered), n=n, cutoff=0.6)]


# Tools (catalog/tools.yaml): which runtimes offer each tool, its options and what generation adds.
Offer = Literal["native", "app", "connection", "none"]
# The offers each runtime can make (a typo such as `agents: app` in the data is refused when it is loaded).
RUNTIME_OFFERS: dict[Runtime, tuple[str, ...]] = {
    Runtime.RESPONSES: ("native", "app", "none"),
    Runtime.AGENTS: ("native", "connection", "app", "none"),
    Runtime.INFERENCE: ("app", "none"),
}


class ToolOption(_Frozen):
    """One `key=value` option of `--tool NAME,key=value`."""

    required: bool = False
    choices: tuple[str, ...] | None = None
    pattern: str | None = None
    default: str | None = None
    description: str
    # Values a runtime cannot honour: runtime -> value -> why (`check_tool` refuses them, naming the runtimes that can).
    refused: dict[Runtime, dict[str, str]] = {}
    # A value that passes the checks, for the example `--tool` flag (`scaffolder tools`, README, error hints).
    example: str | None = None


class ToolSetting(_Frozen):
    """An app setting a tool adds (the same shape as a layer.yaml setting)."""

    type: Literal["str", "int", "float", "bool"] = "str"
    default: str | int | float | bool
    description: str
    # The default is this `--tool` option's value when the spec has one (e.g. APP_MCP_URL from `url=`).
    option: str | None = None
    # How the deployed container app gets it (infra/main.bicep): `azd`: from the azd environment value of the same
    # name (main.parameters.json `${NAME=default}`, so `azd env set` + `azd provision` changes it); `search`: the
    # search service's endpoint main.bicep computes; `secret`: a Container Apps secret from a @secure() parameter,
    # read through secretRef; `local`: never passed (only the CLI reads it, or the code default is right there).
    deploy: Literal["local", "azd", "search", "secret"] = "local"


class ToolRoleGrant(_Frozen):
    """A role a tool needs, for one principal at one scope (`search`: the Azure AI Search service)."""

    role: str
    scope: Literal["account", "project", "appInsights", "search"]
    principal: Literal["app", "developer", "project"] = "app"


class ToolNeeds(_Frozen):
    """What generating a tool adds for one runtime."""

    bicep: tuple[str, ...] = ()
    roles: tuple[ToolRoleGrant, ...] = ()
    settings: dict[str, ToolSetting] = {}
    packages: tuple[str, ...] = ()
    # Test-only packages (the [dev] extra): e.g. the MCP SDK the fake service uses as the service's MCP client.
    dev_packages: tuple[str, ...] = ()
    cli_modules: tuple[str, ...] = ()  # app modules adding CLI commands (register(subparsers)), e.g. `files`
    usage: str = ""  # how to use it in the generated repo, for its README (`{app}`: the console script's name)
    # Catalog models the tool needs deployed (e.g. an embeddings model): added to the spec's models unless it
    # already deploys a model of the same kind.
    models: tuple[str, ...] = ()
    # The generated README's part for this tool on this runtime (how it works, how to use it) and the files table
    # rows of the modules it adds ({name, what}).
    readme: str = ""
    modules: tuple[dict[str, str], ...] = ()
    # How its settings reach the deployed container app: appended to `usage` (or `readme`) only when the repo is
    # generated with --hosting container-apps; a repo without a container app gets LOCAL_ONLY instead.
    usage_hosted: str = ""
    readme_hosted: str = ""


# What a tool's README part says instead of its `*_hosted` text when the repo has no container app.
LOCAL_ONLY = ("This repo has no container app (`--hosting none`): these settings are read from `.env` (or the "
              "environment) only.")


class ToolLimits(_Frozen):
    """Platform limits of a tool."""

    max_per_agent: int | None = None


class CatalogTool(_Frozen):
    """One tool of catalog/tools.yaml."""

    name: str
    title: str
    summary: str
    preview: bool
    sources: tuple[str, ...]
    runtimes: dict[Runtime, Offer]
    why: dict[Runtime, str] = {}
    # A limit of a runtime that does offer the tool (shown by `scaffolder tools --runtime R`).
    caveats: dict[Runtime, str] = {}
    always: bool = False
    docs_only: bool = False
    documented_on: tuple[Runtime, ...] = ()  # docs_only: the runtimes whose README describes it
    options: dict[str, ToolOption] = {}
    needs: dict[Runtime, ToolNeeds] = {}
    limits: ToolLimits = ToolLimits()
    # `--tool NAME` may be given several times (each one an instance, e.g. one specialist agent per flag); the
    # template context then lists them (`cookiecutter.agents`), and check_repeated refuses two with the same key.
    repeatable: bool = False
    # Option groups: `exclusive`, at most one of each group given (non-empty); `together`, all of a group or none.
    exclusive: tuple[tuple[str, ...], ...] = ()
    together: tuple[tuple[str, ...], ...] = ()
    require_any: tuple[tuple[str, ...], ...] = ()  # at least one of each group

    def offer(self, runtime: Runtime) -> Offer:
        """How the runtime offers the tool (`none` when the data leaves it out)."""
        return self.runtimes.get(runtime, "none")

    def offered_by(self) -> list[Runtime]:
        """The runtimes that offer the tool, in Runtime order."""
        return [r for r in Runtime if self.offer(r) != "none"]


@cache
def _tools_doc() -> dict[str, Any]:
    doc: dict[str, Any] = _load("tools.yaml")
    return doc


@cache
def tools() -> dict[str, CatalogTool]:
    """All catalog tools by name, in file order; the data is checked against itself when loaded."""
    doc = _tools_doc()
    known_sources = set(doc["sources"])
    out: dict[str, CatalogTool] = {}
    for name, body in doc["tools"].items():
        tool = CatalogTool(name=name, **body)
        for runtime in Runtime:
            if tool.offer(runtime) not in RUNTIME_OFFERS[runtime]:
                raise ValueError(f"tools.yaml: {name}: {runtime.value} cannot offer {tool.offer(runtime)!r}")
            if tool.offer(runtime) == "none" and not tool.why.get(runtime):
                raise ValueError(f"tools.yaml: {name}: {runtime.value} is 'none' without a `why`")
        missing = set(tool.sources) - known_sources
        if missing:
            raise ValueError(f"tools.yaml: {name} cites unknown sources {sorted(missing)}")
        out[name] = tool
    return out


@cache
def tool_sources() -> dict[str, Source]:
    """The pages the tool catalog cites, by id."""
    return {k: Source(key=k, **v) for k, v in _tools_doc()["sources"].items()}
