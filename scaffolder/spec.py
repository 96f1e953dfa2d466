"""ProjectSpec: the one validated contract that drives rendering, Bicep parameters, env vars and provisioning."""

from __future__ import annotations

import datetime as dt
import functools
import ipaddress
import keyword
import os
import re
import sys
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from scaffolder import catalog
from scaffolder.catalog import CatalogModel, Runtime
from scaffolder.errors import (
    AnswersFileError,
    CatalogError,
    ScaffolderError,
    SpecError,
    pydantic_words,
    yaml_problem,
)
from scaffolder.standards import Naming, default_abbreviations

ANSWERS_FILE = ".scaffolder.yml"
# Version of the answers file's layout; `migrate_answers` lifts older layouts (1: no `schema` key). `tools` and
# `framework` joined schema 2 with defaults (no tools, openai): a spec without them reads unchanged.
ANSWERS_SCHEMA = 2
DEFAULT_LOCATION = "eastus2"
DEFAULT_MODEL = "gpt-5.4-mini"

NAME_RE = re.compile(r"[a-z][a-z0-9-]*[a-z0-9]")
NAME_MAX = 40
DEPLOYMENT_RE = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]*")

NetworkPosture = Literal["public", "ip-restricted"]
PrincipalType = Literal["User", "ServicePrincipal", "Group"]
AgentSetup = Literal["basic", "standard"]
# Where the app runs in Azure: Container Apps (built from the repo's Dockerfile by `azd up`) or nowhere
# (infra + a local app, the pre-hosting behaviour).
Hosting = Literal["container-apps", "none"]
HOSTING_CHOICES: tuple[Hosting, ...] = ("container-apps", "none")
DEFAULT_HOSTING: Hosting = "container-apps"
# The app's chat loop: the OpenAI SDK (every runtime) or LangChain's Azure integration (inference only).
Framework = Literal["openai", "langchain"]
VersionUpgrade = Literal["OnceNewDefaultVersionAvailable", "OnceCurrentVersionExpired", "NoAutoUpgrade"]


def check_project_name(value: str) -> str:
    """Validate a project name; it becomes the Foundry project, the Python package and a name prefix.

    Raises ValueError naming the broken rule.
    """
    if not 2 <= len(value) <= NAME_MAX:
        raise ValueError(f"project name {value!r} must be 2-{NAME_MAX} characters long")
    if value != value.lower():
        raise ValueError(f"project name {value!r} must be lowercase (it prefixes Azure DNS names)")
    if not NAME_RE.fullmatch(value):
        raise ValueError(
            f"project name {value!r} may hold only lowercase letters, digits and hyphens, "
            "start with a letter and end with a letter or digit"
        )
    if "--" in value:
        raise ValueError(f"project name {value!r} must not contain consecutive hyphens")
    if keyword.iskeyword(value.replace("-", "_")):
        raise ValueError(f"project name {value!r} is a Python keyword and cannot name the app package")
    package = value.replace("-", "_")
    clash = reserved_packages().get(package)
    if clash:
        raise ValueError(
            f"project name {value!r} would name the app package {package!r}, which shadows {clash}; "
            f"add a word, e.g. {value}-app or my-{value}"
        )
    return value


@functools.cache
def reserved_packages() -> dict[str, str]:
    """Import names an app package must not take: the standard library, the app's dependencies, `tests`.

    Dependencies come from the template layers (so a new dependency is covered without editing a list):
    the distribution name and its first segment (`azure-identity` imports as `azure`), as importable names.
    """
    from scaffolder._resources import templates_dir

    names = {n: "a standard library module" for n in sys.stdlib_module_names}
    names.update({n: "a folder or module of the generated repo" for n in ("tests", "src", "conftest", "setup")})
    for layer in templates_dir().iterdir():
        path = layer / "layer.yaml"
        if not path.is_file():
            continue
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for req in (data.get("dependencies") or []) + (data.get("dev_dependencies") or []):
            dist = re.split(r"[<>=!~\[;@ ]", str(req), maxsplit=1)[0].strip().lower()
            for imported in (dist.replace("-", "_").replace(".", "_"), re.split(r"[-_.]", dist)[0]):
                names.setdefault(imported, f"the app's dependency {dist}")
    # Imported by the generated code through its dependencies.
    for dep in ("pydantic", "starlette", "httpx", "anyio", "typing_extensions"):
        names.setdefault(dep, f"the app's dependency {dep}")
    return {n: why for n, why in names.items() if n}


def check_deployment_name(value: str) -> str:
    """Validate a model deployment name (2-64 letters, digits, '_', '.', '-'; starts alphanumeric)."""
    if not 2 <= len(value) <= 64:
        raise ValueError(f"deployment name {value!r} must be 2-64 characters long")
    if not DEPLOYMENT_RE.fullmatch(value):
        raise ValueError(
            f"deployment name {value!r} may hold only letters, digits, '_', '.' and '-', "
            "and must start with a letter or digit"
        )
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelDeployment(_Strict):
    """One model deployment on the Foundry resource."""

    name: str = Field(description="deployment name the app calls")
    model: str
    version: str
    format: str = Field(description="the model's publisher, e.g. 'OpenAI', 'Mistral AI'")
    sku: str = "GlobalStandard"
    capacity: int = Field(default=10, ge=1, le=100_000)
    version_upgrade: VersionUpgrade = "OnceCurrentVersionExpired"
    # The quota this deployment draws on (a Microsoft.CognitiveServices/locations/usages name), as Azure's model
    # list gives it per SKU (`scaffolder models --live --refresh`). It goes into main.bicep's azd location metadata,
    # which is written as a literal, hence the narrow pattern. None when no fresh region list was cached: azd's
    # usage names do not always follow the model name (OpenAI.GlobalStandard.gpt4.1-mini, Azure/azure-dev#8563),
    # and a name Azure does not list makes azd's location prompt find no region at all.
    quota_usage: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$",
                                    description="quota usage name from Azure's model list, for azd's location prompt")

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        return check_deployment_name(value)


class ToolSpec(_Strict):
    """One tool the repo is generated with (catalog/tools.yaml); function tools are implicit, never listed."""

    name: str
    options: dict[str, str] = Field(default_factory=dict)


# ARM resource ids of existing resources a repo may use instead of creating them: type per field.
_ID_RE = re.compile(
    r"/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[-\w.()]{1,90}/providers/(?P<type>[\w.]+/[\w]+)/(?P<name>[-\w.]+)"
)
EXISTING_TYPES = {
    "search": "Microsoft.Search/searchServices",
}


def check_resource_id(value: str, resource_type: str) -> str:
    """Validate an ARM resource id of one type (/subscriptions/<guid>/resourceGroups/<g>/providers/<type>/<name>)."""
    match = _ID_RE.fullmatch(value)
    if match is None:
        raise ValueError(
            f"{value!r} is not an ARM resource id; expected "
            f"/subscriptions/<subscription id>/resourceGroups/<group>/providers/{resource_type}/<name>"
        )
    if match.group("type").lower() != resource_type.lower():
        raise ValueError(f"{value!r} is a {match.group('type')}, not a {resource_type}")
    return value


class ExistingResources(_Strict):
    """Existing Azure resources the repo uses instead of creating its own, by ARM resource id (empty: create)."""

    search: str = Field(default="", description="an Azure AI Search service (roles are granted on it)")

    @field_validator("search")
    @classmethod
    def _valid_ids(cls, value: str, info: Any) -> str:
        return check_resource_id(value, EXISTING_TYPES[info.field_name]) if value else value


class NetworkSpec(_Strict):
    """Network posture of the Foundry resource (`private` with private endpoints is a later addition)."""

    posture: NetworkPosture = "public"
    allow_ips: tuple[str, ...] = ()

    @field_validator("allow_ips")
    @classmethod
    def _valid_ranges(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        out = []
        for item in value:
            try:
                net = ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"--allow-ip {item!r} is not an IPv4 address or CIDR range") from None
            if net.version != 4:
                raise ValueError(f"--allow-ip {item!r}: Foundry network rules take IPv4 only")
            if net.prefixlen < 8:
                raise ValueError(f"--allow-ip {item!r} is too wide (/{net.prefixlen}); that is public access")
            if net.is_private or net.is_loopback:
                raise ValueError(
                    f"--allow-ip {item!r} is a private or loopback range; network rules apply to public IPs"
                )
            out.append(str(net.network_address) if net.prefixlen == 32 else str(net))
        return tuple(out)

    @model_validator(mode="after")
    def _posture_needs_ranges(self) -> NetworkSpec:
        if self.posture == "ip-restricted" and not self.allow_ips:
            raise ValueError("network posture 'ip-restricted' needs at least one --allow-ip range")
        if self.posture == "public" and self.allow_ips:
            raise ValueError("--allow-ip applies only with --network ip-restricted")
        return self


def now() -> dt.datetime:
    """The current UTC time, or the moment SOURCE_DATE_EPOCH pins (reproducible builds convention).

    A set but unusable value is one clear error (exit 2), never silently the real clock: a build that meant to
    pin the date must not judge model lifecycles on another day.
    """
    raw = os.environ.get("SOURCE_DATE_EPOCH")
    if raw is None or not raw.strip():
        return dt.datetime.now(dt.UTC)
    try:
        seconds = int(raw.strip(), 10)
        if seconds < 0:
            raise ValueError(raw)
        return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)
    except (ValueError, OverflowError, OSError):
        shown = raw if len(raw) <= 40 else raw[:40] + "…"
        raise SpecError(
            f"SOURCE_DATE_EPOCH must be whole seconds since 1970-01-01 UTC (before the year 10000), got {shown!r}",
            hint="unset it, or set e.g. SOURCE_DATE_EPOCH=1795910400 (2026-11-29)",
        ) from None


def today() -> dt.date:
    """Today's UTC date, or the one SOURCE_DATE_EPOCH pins (see now())."""
    return now().date()


class RuntimeDecision(_Strict):
    """How the runtime was chosen: the recommend answers (empty when --runtime was given directly).

    A decision made by `scaffolder update --runtime` records the runtime it switched from and what the switch
    changed (written once, when it was made: the ADR is a historical record, not re-derived later).
    """

    answers: dict[str, str] = Field(default_factory=dict)
    date: dt.date = Field(default_factory=today)
    switched_from: Runtime | None = None
    changes: tuple[str, ...] = ()

    @field_validator("answers", mode="before")
    @classmethod
    def _known_answers(cls, value: dict[str, object]) -> dict[str, str]:
        from scaffolder.decision import validate_answers

        try:
            return validate_answers(value)
        except ScaffolderError as exc:
            raise ValueError(f"decision answers: {exc.message}") from None


class PastDecision(RuntimeDecision):
    """A runtime decision a later switch superseded (kept for the ADR records)."""

    runtime: Runtime


class StandardsRef(_Strict):
    """Which standards file the repo was generated under (for `check` to detect drift)."""

    name: str
    source: str
    sha256: str


def _default_naming() -> Naming:
    return Naming(abbreviations=default_abbreviations())


class ProjectSpec(_Strict):
    """Everything a user can ask for; every generated file and resource derives from it."""

    name: str
    runtime: Runtime
    location: str = DEFAULT_LOCATION
    models: tuple[ModelDeployment, ...] = Field(min_length=1)
    agent_setup: AgentSetup = "basic"
    existing: ExistingResources = Field(default_factory=ExistingResources)
    network: NetworkSpec = NetworkSpec()
    monitoring: bool = True
    hosting: Hosting = DEFAULT_HOSTING
    principal_type: PrincipalType = "User"
    tags: dict[str, str] = Field(default_factory=dict)
    naming: Naming = Field(default_factory=_default_naming)
    log_retention_days: int = Field(default=30, ge=30, le=730)
    decision: RuntimeDecision = Field(default_factory=RuntimeDecision)
    superseded: tuple[PastDecision, ...] = Field(default=(), description="earlier runtime decisions, oldest first")
    standards: StandardsRef | None = None
    tools: tuple[ToolSpec, ...] = Field(default=(), description="chosen tools, options resolved (catalog order)")
    framework: Framework = "openai"

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        return check_project_name(value)

    @model_validator(mode="before")
    @classmethod
    def _tool_models(cls, data: Any) -> Any:
        """Deploy the models the chosen tools need unless the spec already deploys a model of that kind.

        From the catalog's `needs.<runtime>.models` (file search's embeddings model on inference); the answers file
        then records the deployment like any other.
        """
        if not isinstance(data, dict) or not data.get("models") or not data.get("tools"):
            return data
        try:
            runtime = Runtime(str(data.get("runtime")))
        except ValueError:
            return data
        names = [t.name if isinstance(t, ToolSpec) else t.get("name") if isinstance(t, dict) else None
                 for t in data["tools"]]
        known, tools = catalog.models(), catalog.tools()
        models = list(data["models"])

        def kind(m: Any) -> str | None:
            name = m.model if isinstance(m, ModelDeployment) else m.get("model") if isinstance(m, dict) else None
            return known[name].kind if name in known else None

        for name in names:
            need = tools[name].needs.get(runtime) if name in tools else None
            for model in need.models if need is not None else ():
                entry = known[model]
                if entry.kind in (kind(m) for m in models[1:]):
                    continue
                models.append({"name": entry.name, "model": entry.name, "version": entry.default_version,
                               "format": entry.format, "sku": entry.default_sku, "capacity": entry.default_capacity})
        return {**data, "models": models}

    @field_validator("tools")
    @classmethod
    def _known_tools(cls, value: tuple[ToolSpec, ...], info: ValidationInfo) -> tuple[ToolSpec, ...]:
        from scaffolder import tools as catalog_tools

        runtime = info.data.get("runtime")
        if runtime is None:  # the runtime failed its own validation: that error is the one to show
            return value
        catalog_tools.check_tools([t.name for t in value])
        checked = [ToolSpec(name=t.name, options=catalog_tools.check_tool(t.name, t.options, runtime))
                   for t in value]
        catalog_tools.check_connections({t.name: t.options for t in checked})
        for name in {t.name for t in checked if catalog.tools()[t.name].repeatable}:
            catalog_tools.check_repeated(name, [t.options for t in checked if t.name == name],
                                         str(info.data.get("name", "")))
        # Catalog order, so that the answers file and the generated files do not depend on the flags' order; the
        # instances of a repeatable tool (specialist agents) keep their flags' order (the README lists them so).
        return tuple(t for name in catalog.tools() for t in checked if t.name == name)

    @field_validator("naming")
    @classmethod
    def _resolved_naming(cls, value: Naming) -> Naming:
        return value.model_copy(update={"abbreviations": value.resolved_abbreviations()})

    @field_validator("tags")
    @classmethod
    def _valid_tags(cls, value: dict[str, str]) -> dict[str, str]:
        for key, tag in value.items():
            if not 1 <= len(key) <= 512 or any(c in key for c in "<>%&\\?/"):
                raise ValueError(f"tag name {key!r} must be 1-512 characters without < > % & \\ ? /")
            if len(tag) > 256:
                raise ValueError(f"tag {key!r}: values are at most 256 characters")
        return value

    @field_validator("location")
    @classmethod
    def _known_region(cls, value: str) -> str:
        value = catalog.normalize_region(value)
        regions = catalog.azure_regions()
        if value not in regions:
            close = catalog.suggest(value, regions)
            extra = f"; did you mean {', '.join(close)}?" if close else ""
            raise ValueError(f"unknown Azure region {value!r}{extra}")
        return value

    @model_validator(mode="after")
    def _coherent(self) -> ProjectSpec:
        profile = catalog.runtimes()[self.runtime]
        regions = catalog.runtime_regions(self.runtime)
        if self.location not in regions:
            raise ValueError(
                f"{profile.title} is not offered in {self.location}; pick one of: {', '.join(regions)}"
            )
        names = [m.name for m in self.models]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"deployment names must be unique; repeated: {', '.join(dupes)}")
        for dep in self.models:
            if not catalog.serves(self.runtime, dep.model, dep.format):
                raise ValueError(runtime_mismatch(dep.model, self.runtime))
        if self.framework != "openai":
            if self.runtime is not Runtime.INFERENCE:
                raise ValueError(f"--framework {self.framework} applies to the inference runtime only (the service "
                                 f"owns the loop on {self.runtime.value})")
            generated = _frameworks_generated()
            if self.framework not in generated:
                raise ValueError(f"--framework {self.framework} is not generated by this version; "
                                 f"frameworks: {', '.join(generated)}")
        if self.agent_setup == "standard" and self.runtime is not Runtime.AGENTS:
            raise ValueError(
                f"--agent-setup standard configures the Agent Service's own storage; the {self.runtime.value} runtime "
                "does not use it (pick --runtime agents, or drop --agent-setup)"
            )
        if self.agent_setup == "standard" and self.network.posture != "public":
            raise ValueError(
                "--agent-setup standard needs --network public: with restricted networks the Agent Service reaches "
                "its Cosmos DB, Storage and AI Search only through private networking, which this tool does not "
                "generate yet (Microsoft's template: 15-private-network-standard-agent-setup)"
            )
        if self.existing.search and not self.uses_search:
            raise ValueError(
                "an existing AI Search service was given, but nothing in this repo uses Azure AI Search "
                "(a tool that needs it, or --agent-setup standard)"
            )
        known = catalog.models().get(self.models[0].model)
        if known is not None and known.kind != "chat":
            raise ValueError(f"the first model is the one the app chats with; {known.name} is an embeddings model")
        if self.network.posture == "ip-restricted" and self.hosting == "container-apps":
            # The Foundry firewall (networkAcls defaultAction Deny, ipRules from --allow-ip) would refuse the hosted
            # app: a Consumption environment's outbound addresses are shared, can change and are not in ipRules,
            # and Container Apps is not a trusted service the AzureServices bypass lets through. Making it work
            # needs a VNet-integrated environment with a Microsoft.CognitiveServices service endpoint (or a NAT
            # gateway's static address in ipRules), which the generated Bicep does not create.
            raise _HintedValueError(
                "--network ip-restricted with --hosting container-apps: the Foundry firewall would block the hosted "
                "app (its outbound addresses are not in the --allow-ip ranges)",
                hint="use --hosting none (run the app from an allowed address), or --network public",
            )
        return self

    @property
    def primary(self) -> ModelDeployment:
        """The deployment the app calls."""
        return self.models[0]

    def tool_options(self, name: str) -> dict[str, str] | None:
        """The options of a chosen tool (defaults filled in), or None when the repo does not have it."""
        return next((dict(t.options) for t in self.tools if t.name == name), None)

    @property
    def uses_search(self) -> bool:
        """Whether the repo needs Azure AI Search (main.bicep's aiSearch): a tool or the agent setup asks for it.

        The agents runtime's ai-search tool does, unless it names an existing project connection (then the
        service behind it is the connection owner's business: nothing is created or granted); so does every tool
        whose needs name the ai-search module (the inference runtime's file search).
        """
        if self.agent_setup == "standard":
            return True
        search_tool = self.tool_options("ai-search")
        if search_tool is not None and not search_tool.get("connection"):
            return True
        return any("ai-search" in need.bicep for t in self.tools if t.name != "ai-search"
                   if (need := catalog.tools()[t.name].needs.get(self.runtime)) is not None)

    @property
    def search_resource_id(self) -> str:
        """The existing search service to use (`--existing search=` or ai-search's `search=`); '' creates one."""
        return self.existing.search or (self.tool_options("ai-search") or {}).get("search", "")

    @property
    def package(self) -> str:
        """Python package name of the generated app."""
        return self.name.replace("-", "_")

    @property
    def has_partner_models(self) -> bool:
        """Whether any deployment is a non-OpenAI (MaaS) model."""
        return any(m.format != "OpenAI" for m in self.models)

    def to_answers(self, tool_version: str) -> str:
        """The answers file text: tool version and spec, no secrets (the spec holds none)."""
        spec = self.model_dump(mode="json")
        for model in spec["models"]:
            if model.get("quota_usage") is None:  # only known from a cached region list; absent reads as None
                model.pop("quota_usage", None)
        doc = {"tool": "foundry-scaffolder", "schema": ANSWERS_SCHEMA, "version": tool_version, "spec": spec}
        header = "# Written by foundry-scaffolder: the spec this repo was generated from. Do not edit by hand.\n"
        return header + yaml.safe_dump(doc, sort_keys=False)


@functools.cache
def _frameworks_generated() -> tuple[str, ...]:
    """Frameworks the inference templates generate (`frameworks:` of templates/inference/layer.yaml)."""
    from scaffolder._resources import templates_dir

    path = templates_dir() / "inference" / "layer.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else None
    return tuple((data or {}).get("frameworks") or ("openai",))


def runtime_mismatch(model: str, runtime: Runtime) -> str:
    """Why the runtime cannot serve the model, from the catalog's capability data, and what would."""
    profile = catalog.runtimes()[runtime]
    today_ = today()
    serving = [
        m.name
        for m in catalog.models_for(runtime)
        if m.kind == "chat" and m.status(m.default_version, today_).state == "current"
    ]
    known = catalog.models().get(model)
    if known is not None:
        served_by = ", ".join(r.value for r in known.runtimes) or "no runtime of this tool"
        why = f"the catalog lists it for {served_by} only"
    else:
        why = f"its publisher is not one of {', '.join(profile.model_formats)}"
    retired = known is not None and known.status(known.default_version, today_).state == "retired"
    other = [r.value for r in Runtime if r != runtime and model in _serving_names(r)]
    # Never send the user to another runtime for a model `new` would then refuse as retired.
    alt = f"use --runtime {other[0]}, or " if other and not retired else ""
    state = f"; it is also retired ({known.status(known.default_version, today_).message})" if retired and known else ""
    return f"{model} is not served by the {profile.title} ({why}{state}); {alt}pick one of: {', '.join(serving)}"


def _serving_names(runtime: Runtime) -> set[str]:
    return {m.name for m in catalog.models_for(runtime)}


def parse_model_option(text: str, *, default_capacity: int | None = None) -> dict[str, Any]:
    """Parse `NAME[@VERSION][,sku=S][,capacity=N][,deployment=D][,format=F]` into deployment fields.

    Fills version, format, SKU and capacity from the catalog; a model outside the catalog needs
    `format=` and `@VERSION`. Raises CatalogError with close-match suggestions.
    """
    head, *opts = [part.strip() for part in text.split(",")]
    name, at, version = head.partition("@")
    if at and not version:
        raise CatalogError(f"--model {text!r}: nothing after '@'", hint="use NAME@VERSION, or drop the '@'")
    fields: dict[str, Any] = {}
    for opt in opts:
        key, sep, value = opt.partition("=")
        if not sep or key not in {"sku", "capacity", "deployment", "format"}:
            raise CatalogError(
                f"--model {text!r}: unknown option {opt!r}",
                hint="use NAME[@VERSION][,sku=SKU][,capacity=N][,deployment=NAME][,format=PUBLISHER]",
            )
        fields[key] = value
    known: CatalogModel | None = catalog.models().get(name)
    if known is None:
        if "format" not in fields or not version:
            day = today()
            states = {m.name: m.status(m.default_version, day).state for m in catalog.models().values()}
            close = [c + (" (retired)" if states[c] == "retired" else "") for c in catalog.suggest(name, list(states))]
            did = f"; did you mean {', '.join(close)}?" if close else ""
            raise CatalogError(
                f"unknown model {name!r}{did}",
                hint="`scaffolder models` lists the catalog; a model outside it needs "
                "--model NAME@VERSION,format=PUBLISHER",
            )
        dep = {"model": name, "version": version, "format": fields["format"], "sku": "GlobalStandard"}
        dep["capacity"] = 1 if default_capacity is None else default_capacity
    else:
        if version and version not in known.versions:
            raise CatalogError(
                f"{name} has no known version {version!r}; known: {', '.join(known.versions)}",
                hint=f"drop @{version} to get the default {known.default_version}",
            )
        if "format" in fields and fields["format"] != known.format:
            raise CatalogError(f"{name} is published as format {known.format!r}, not {fields['format']!r}")
        dep = {
            "model": name,
            "version": version or known.default_version,
            "format": known.format,
            "sku": known.default_sku,
            "capacity": known.default_capacity if default_capacity is None else default_capacity,
        }
        if "sku" in fields and fields["sku"] not in known.skus:
            raise CatalogError(
                f"{name} cannot be deployed with SKU {fields['sku']!r}; allowed: {', '.join(known.skus)}"
            )
    if "sku" in fields:
        dep["sku"] = fields["sku"]
    if "capacity" in fields:
        try:
            dep["capacity"] = int(fields["capacity"])
        except ValueError:
            raise CatalogError(f"--model {text!r}: capacity must be a whole number") from None
        if dep["capacity"] < 1:  # said here, where the text typed is known, not as pydantic's models.0.capacity
            raise CatalogError(f"--model {text!r}: capacity must be at least 1",
                               hint=f"e.g. --model {name},capacity=1")
    dep["name"] = fields.get("deployment", name)
    return dep


def build_spec(values: dict[str, Any]) -> ProjectSpec:
    """Validate raw values (flags, prompts, answers) into a ProjectSpec; one SpecError on failure."""
    try:
        return ProjectSpec.model_validate(values)
    except ValidationError as exc:
        raise SpecError(_first_error(exc), hint=_hint_for(exc)) from None


_FLAGS = {
    "name": "NAME argument",
    "runtime": "--runtime",
    "location": "--location",
    "models": "--model",
    "network": "--network / --allow-ip",
    "monitoring": "--monitoring/--no-monitoring",
    "hosting": "--hosting",
    "principal_type": "--principal-type",
    "existing": "--existing",
    "agent_setup": "--agent-setup",
    "tools": "--tool (`scaffolder tools` lists them per runtime)",
    "framework": "--framework",
}


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = [str(p) for p in err["loc"]]
    if err["type"] == "missing":
        return f"missing value: {'.'.join(loc)}"
    msg = pydantic_words(err)
    if err["type"] in {"literal_error", "enum"} and loc:
        return f"{loc[-1]}: {msg}"
    if err["type"] != "value_error" and loc:
        return f"{'.'.join(loc)}: {msg}"
    return msg


class _HintedValueError(ValueError):
    """A validation failure whose fix is not a single flag: it carries its own hint."""

    def __init__(self, message: str, *, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


def _hint_for(exc: ValidationError) -> str | None:
    cause = (exc.errors()[0].get("ctx") or {}).get("error")
    hint = getattr(cause, "hint", None)  # _HintedValueError, tools.OfferError
    if isinstance(hint, str):
        return hint
    loc = exc.errors()[0]["loc"]
    key = str(loc[0]) if loc else ""
    return f"fix it with {_FLAGS[key]}" if key in _FLAGS else None


def load_answers(directory: Path) -> tuple[ProjectSpec, str]:
    """Read the answers file of a generated repo: the spec and the tool version that wrote it."""
    path = directory / ANSWERS_FILE
    if not path.is_file():
        raise AnswersFileError(
            f"{path} not found: not a repo generated by foundry-scaffolder",
            hint="run the command inside a generated repo, or pass its directory",
        )
    from scaffolder import safeio

    _, text = safeio.read_config(path, AnswersFileError, "answers file")
    try:
        doc = safeio.load_yaml(text)
    except yaml.YAMLError as exc:
        raise AnswersFileError(yaml_problem(path, exc), hint="restore it from version control (git checkout)") from None
    if not isinstance(doc, dict) or "spec" not in doc:
        raise AnswersFileError(f"{path} has no 'spec' section")
    doc = migrate_answers(doc, where=str(path))
    try:
        spec = ProjectSpec.model_validate(doc["spec"])
    except ValidationError as exc:
        raise AnswersFileError(f"{path}: {_first_error(exc)}") from None
    return spec, str(doc.get("version", "unknown"))


def _schema_1_to_2(doc: dict[str, Any]) -> dict[str, Any]:
    # Schema 2 (this release) records runtime switches: the decision gains `switched_from` and `changes`, the
    # spec gains `superseded`; all have defaults, so a schema-1 spec reads unchanged once the key is set.
    return {**doc, "schema": 2}


_MIGRATIONS = {1: _schema_1_to_2}


def migrate_answers(doc: dict[str, Any], *, where: str = ANSWERS_FILE) -> dict[str, Any]:
    """Lift an answers document of an older schema to ANSWERS_SCHEMA, one step at a time.

    A newer schema than this tool knows is refused: the repo was written by a newer release.
    """
    schema = doc.get("schema", 1)
    if not isinstance(schema, int) or schema < 1:
        raise AnswersFileError(f"{where}: schema {schema!r} is not a positive whole number")
    if schema > ANSWERS_SCHEMA:
        raise AnswersFileError(
            f"{where} has schema {schema}, newer than this foundry-scaffolder knows ({ANSWERS_SCHEMA})",
            hint=f"upgrade foundry-scaffolder to the release that wrote it ({doc.get('version', 'unknown')}) or later",
        )
    while schema < ANSWERS_SCHEMA:
        doc = _MIGRATIONS[schema](doc)
        schema = doc["schema"]
    return doc
