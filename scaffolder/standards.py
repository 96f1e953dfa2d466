"""Team standards: a schema-validated file of naming, tags, regions, models, network and overlay rules."""

from __future__ import annotations

import hashlib
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from scaffolder import catalog
from scaffolder.catalog import Runtime
from scaffolder.errors import SpecError, StandardsError, pydantic_words, toml_problem, yaml_problem

if TYPE_CHECKING:  # spec.py imports this module (Naming, abbreviations): a type-only import breaks the cycle
    from scaffolder.spec import ProjectSpec

ENV_VAR = "SCAFFOLDER_STANDARDS"
USER_FILES = ("standards.yml", "standards.yaml", "standards.toml")
NAME_TOKENS = ("{abbr}", "{project}", "{env}", "{region}", "{token}")
DEFAULT_PATTERN = "{abbr}{project}-{token}"


def resource_kinds() -> tuple[str, ...]:
    """The naming kinds (account, identity, ...): the registry entries with a `kind:` (catalog/resource_types.yaml)."""
    from scaffolder.provisioning.registry import by_kind

    return tuple(by_kind())


def default_abbreviations() -> dict[str, str]:
    """Each naming kind's default abbreviation, as the registry gives it (Cloud Adoption Framework prefixes)."""
    from scaffolder.provisioning.registry import by_kind

    return {kind: entry.abbreviation for kind, entry in by_kind().items()}

POSTURE_RANK = {"public": 0, "ip-restricted": 1}



class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Naming(_Strict):
    """Resource names: a pattern over {abbr} {project} {env} {region} {token}, and per-type abbreviations."""

    pattern: str = DEFAULT_PATTERN
    abbreviations: dict[str, str] = Field(default_factory=dict)

    @field_validator("pattern")
    @classmethod
    def _pattern(cls, value: str) -> str:
        if not value.endswith("{token}") or value.count("{token}") != 1:
            raise ValueError(
                "pattern must end with {token} (once): Foundry account names are global DNS names, and a long "
                "name is shortened before the token, never the token itself"
            )
        literal = re.sub(r"\{[a-z]+\}", "", value)
        unknown = sorted(set(re.findall(r"\{[a-z]+\}", value)) - set(NAME_TOKENS))
        if unknown:
            raise ValueError(f"unknown token(s) {', '.join(unknown)}; tokens: {', '.join(NAME_TOKENS)}")
        if not re.fullmatch(r"[a-z0-9-]*", literal):
            raise ValueError("pattern text between tokens may hold only lowercase letters, digits and hyphens")
        return value

    @field_validator("abbreviations")
    @classmethod
    def _abbreviations(cls, value: dict[str, str]) -> dict[str, str]:
        for kind, abbr in value.items():
            if kind not in resource_kinds():
                raise ValueError(f"unknown resource kind {kind!r}; kinds: {', '.join(resource_kinds())}")
            if not re.fullmatch(r"[a-z0-9-]{0,10}", abbr):
                raise ValueError(f"abbreviation for {kind} must be up to 10 lowercase letters, digits or hyphens")
        return value

    def resolved_abbreviations(self) -> dict[str, str]:
        """Every resource kind's abbreviation, defaults filled in."""
        return {**default_abbreviations(), **self.abbreviations}


class Regions(_Strict):
    """Allowed regions (None: any the runtime offers)."""

    allowed: tuple[str, ...] | None = None

    @field_validator("allowed")
    @classmethod
    def _known(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        for region in value or ():
            if region not in catalog.azure_regions():
                raise ValueError(f"unknown Azure region {region!r}")
        return value


class Models(_Strict):
    """Allowed models and SKUs, and a capacity ceiling per deployment."""

    allowed: tuple[str, ...] | None = None
    skus: tuple[str, ...] | None = None
    max_capacity: int | None = Field(default=None, ge=1)


class Network(_Strict):
    """The least open network posture allowed (ip-restricted forbids public)."""

    required: Literal["public", "ip-restricted"] | None = None


class Hosting(_Strict):
    """Where generated apps may run: a required value, or a list of allowed ones."""

    required: Literal["container-apps", "none"] | None = None
    allowed: tuple[Literal["container-apps", "none"], ...] | None = None

    @model_validator(mode="after")
    def _required_is_allowed(self) -> Hosting:
        if self.required and self.allowed is not None and self.required not in self.allowed:
            raise ValueError(f"hosting.required {self.required!r} is not in hosting.allowed")
        return self


class ToolRules(_Strict):
    """Which catalog tools a generated repo may have (allowed), must not have (denied) and must have (required)."""

    allowed: tuple[str, ...] | None = None
    denied: tuple[str, ...] = ()
    required: tuple[str, ...] = ()

    @field_validator("allowed", "denied", "required")
    @classmethod
    def _known(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        tools = catalog.tools()
        for name in value or ():
            if name not in tools:
                close = catalog.suggest(name, list(tools))
                raise ValueError(f"unknown tool {name!r}" + (f"; did you mean {', '.join(close)}?" if close else "")
                                 + f" (tools: {', '.join(tools)})")
            if tools[name].always:
                raise ValueError(f"{name} tools are always generated; they cannot be allowed, denied or required")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ToolRules:
        for name in self.required:
            if name in self.denied:
                raise ValueError(f"tool {name!r} is both required and denied")
            if self.allowed is not None and name not in self.allowed:
                raise ValueError(f"required tool {name!r} is not in tools.allowed")
        return self


class Security(_Strict):
    """Local (key) auth must stay disabled: the only accepted value, checked in the Bicep by `check`."""

    local_auth: Literal["disabled"] = "disabled"


class Monitoring(_Strict):
    """Whether monitoring is mandatory, and the Log Analytics retention."""

    required: bool = False
    log_retention_days: int | None = Field(default=None, ge=30, le=730)


class CheckRules(_Strict):
    """How `scaffolder check` treats differences from the generator (drift/*): information, or (strict) failures."""

    strict: bool = False


class Defaults(_Strict):
    """Defaults for `new` when a flag is absent."""

    runtime: Runtime | None = None
    model: str | None = None
    location: str | None = None

    @field_validator("model")
    @classmethod
    def _known_model(cls, value: str | None) -> str | None:
        if value is not None and value not in catalog.models():
            close = catalog.suggest(value, list(catalog.models()))
            raise ValueError(f"unknown model {value!r}" + (f"; did you mean {', '.join(close)}?" if close else ""))
        return value

    @field_validator("location")
    @classmethod
    def _known_location(cls, value: str | None) -> str | None:
        if value is not None and value not in catalog.azure_regions():
            raise ValueError(f"unknown Azure region {value!r}")
        return value


class Standards(_Strict):
    """A team's standards file."""

    name: str = "team standards"
    naming: Naming = Naming()
    tags: dict[str, str | None] = Field(default_factory=dict)
    regions: Regions = Regions()
    models: Models = Models()
    network: Network = Network()
    hosting: Hosting = Hosting()
    security: Security = Security()
    monitoring: Monitoring = Monitoring()
    defaults: Defaults = Defaults()
    overlays: tuple[str, ...] = ()
    check: CheckRules = CheckRules()
    tools: ToolRules = ToolRules()

    @model_validator(mode="after")
    def _defaults_obey_rules(self) -> Standards:
        if self.defaults.location and self.regions.allowed and self.defaults.location not in self.regions.allowed:
            raise ValueError(f"defaults.location {self.defaults.location!r} is not in regions.allowed")
        if self.defaults.model and self.models.allowed and self.defaults.model not in self.models.allowed:
            raise ValueError(f"defaults.model {self.defaults.model!r} is not in models.allowed")
        return self


@dataclass(frozen=True)
class LoadedStandards:
    """Standards plus where they came from (for the answers file and overlay paths)."""

    standards: Standards
    source: Path
    sha256: str

    def overlay_dirs(self) -> list[Path]:
        """Overlay directories, resolved relative to the standards file and confined to its folder.

        An absolute path, a `..` or a link leading out of the standards file's folder is refused: whoever
        writes the standards file must not make `new` copy files from elsewhere on the machine.
        """
        from scaffolder.errors import OverlayError

        home = self.source.parent.resolve()
        dirs = []
        for rel in self.standards.overlays:
            if "\0" in rel or Path(rel).is_absolute() or ".." in Path(rel).parts:
                raise OverlayError(f"{self.source}: overlay {rel!r} must be a folder below the standards file's "
                                   f"folder ({home})", hint="use a relative path such as ./overlays/team")
            path = (home / rel).resolve()
            if not path.is_relative_to(home) or path == home:
                raise OverlayError(f"{self.source}: overlay {rel!r} leads outside the standards file's folder "
                                   f"({home})", hint="move the overlay below the standards file")
            if not path.is_dir():
                raise StandardsError(f"{self.source}: overlay {rel!r} is not a directory ({path})")
            dirs.append(path)
        return dirs


def user_config_dir() -> Path:
    """Where a user's standards file may live ($XDG_CONFIG_HOME/foundry-scaffolder)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "foundry-scaffolder"


def discover(explicit: Path | None = None) -> Path | None:
    """The standards file in force: --standards, else $SCAFFOLDER_STANDARDS, else the user config file."""
    if explicit is not None:
        return explicit
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR])
    for name in USER_FILES:
        candidate = user_config_dir() / name
        if candidate.is_file():
            return candidate
    return None


def load(path: Path) -> LoadedStandards:
    """Read and validate a standards file (YAML or TOML); errors name the file and line."""
    from scaffolder import safeio

    try:
        raw = safeio.read_bytes(path)
    except OSError as exc:
        # A wrong path is bad input (exit 2), not a broken standard (exit 3).
        raise SpecError(f"cannot read standards file {path}: {safeio.describe(exc)}",
                        hint="check --standards, $SCAFFOLDER_STANDARDS or ~/.config/foundry-scaffolder/") from None
    except safeio.UnsafeInputError as exc:
        # A FIFO, a device or an oversized file is a broken standard (exit 3), refused before it is parsed.
        raise StandardsError(f"cannot read standards file {path}: {exc}", hint="check --standards") from None
    if b"\0" in raw:
        raise StandardsError(f"cannot read standards file {path}: binary, not text", hint="check --standards")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise StandardsError(f"cannot read standards file {path}: not UTF-8 text (byte {exc.start})",
                             hint="check --standards") from None
    try:
        doc = safeio.load_toml(text) if path.suffix == ".toml" else safeio.load_yaml(text)
    except safeio.UnsafeInputError as exc:
        raise StandardsError(f"{path}: {exc}", hint="fix the standards file") from None
    except tomllib.TOMLDecodeError as exc:
        raise StandardsError(toml_problem(path, exc, text), hint="fix the standards file") from None
    except yaml.YAMLError as exc:
        # The same one-line "FILE line N, column M: words" as the answers files (no parser internals).
        raise StandardsError(yaml_problem(path, exc), hint="fix the standards file") from None
    doc = doc or {}
    if not isinstance(doc, dict):
        raise StandardsError(f"{path}: the standards file must be a mapping at the top level")
    try:
        standards = Standards.model_validate(doc)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = [str(p) for p in err["loc"]]
        line = _line_of(text, path.suffix, loc)
        where = f"{path}:{line}" if line else str(path)
        msg = pydantic_words(err)
        if err["type"] == "extra_forbidden":
            known = _known_keys(loc[:-1])
            msg = f"unknown key{'; valid keys here: ' + ', '.join(known) if known else ''}"
        raise StandardsError(f"{where}: {'.'.join(loc) or 'file'}: {msg}", hint="fix the standards file") from None
    return LoadedStandards(standards, path.resolve(), hashlib.sha256(raw).hexdigest())


def _known_keys(loc: list[str]) -> list[str]:
    """The keys the standards schema accepts at loc (a path of keys; list indexes skipped)."""
    model: Any = Standards
    for key in loc:
        if key.isdigit():
            continue
        field = model.model_fields.get(key) if isinstance(model, type) and issubclass(model, BaseModel) else None
        if field is None:
            return []
        inner = field.annotation
        # Unwrap Optional[...] / list[...] / tuple[...] down to a model, if there is one.
        for _ in range(3):
            args = [a for a in getattr(inner, "__args__", ()) if isinstance(a, type) and issubclass(a, BaseModel)]
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                break
            inner = args[0] if args else inner
        model = inner
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return []
    return [info.alias or name for name, info in model.model_fields.items()]


def _line_of(text: str, suffix: str, loc: list[str]) -> int | None:
    """Line (1-based) of the key at loc, from YAML node marks or, for TOML, the first line naming the key."""
    if suffix != ".toml":
        try:
            from scaffolder.safeio import BoundedLoader

            node: Any = yaml.compose(text, Loader=BoundedLoader)
        except yaml.YAMLError:
            return None
        line = None
        for key in loc:
            if isinstance(node, yaml.MappingNode):
                match = next(((k, v) for k, v in node.value if k.value == key), None)
                if match is None:
                    break
                line, node = match[0].start_mark.line + 1, match[1]
            elif isinstance(node, yaml.SequenceNode) and key.isdigit() and int(key) < len(node.value):
                node = node.value[int(key)]
                line = node.start_mark.line + 1
            else:
                break
        return line
    for key in reversed(loc):
        if key.isdigit():
            continue
        for i, row in enumerate(text.splitlines(), 1):
            if re.match(rf"\s*\[?\"?{re.escape(key)}\"?\]?\s*(=|$)", row):
                return i
    return None


@dataclass(frozen=True)
class Violation:
    """One rule a spec breaks."""

    rule: str
    message: str
    hint: str


def violations(spec: ProjectSpec, standards: Standards) -> list[Violation]:
    """Every rule of the standards that the spec breaks (pure)."""
    out: list[Violation] = []
    allowed_regions = standards.regions.allowed
    if allowed_regions and spec.location not in allowed_regions:
        out.append(Violation("regions.allowed", f"region {spec.location} is not allowed by the standards; "
                             f"allowed: {', '.join(allowed_regions)}", "use --location"))
    m = standards.models
    for dep in spec.models:
        if m.allowed and dep.model not in m.allowed:
            out.append(Violation("models.allowed", f"model {dep.model} is not allowed by the standards; "
                                 f"allowed: {', '.join(m.allowed)}", "use --model"))
        if m.skus and dep.sku not in m.skus:
            out.append(Violation("models.skus", f"SKU {dep.sku} of {dep.name} is not allowed by the standards; "
                                 f"allowed: {', '.join(m.skus)}", "use --model NAME,sku=SKU"))
        if m.max_capacity and dep.capacity > m.max_capacity:
            out.append(Violation(
                "models.max_capacity",
                f"capacity {dep.capacity} of {dep.name} exceeds the standards' ceiling of {m.max_capacity}",
                "use --capacity or --model NAME,capacity=N",
            ))
    required = standards.network.required
    if required and POSTURE_RANK[spec.network.posture] < POSTURE_RANK[required]:
        out.append(Violation("network.required", f"network posture {spec.network.posture} is not allowed; "
                             f"the standards require {required}", f"use --network {required} --allow-ip RANGE"))
    hosting = standards.hosting
    if hosting.required and spec.hosting != hosting.required:
        out.append(Violation("hosting.required", f"hosting {spec.hosting} is not allowed; the standards require "
                             f"{hosting.required}", f"use --hosting {hosting.required}"))
    elif hosting.allowed is not None and spec.hosting not in hosting.allowed:
        out.append(Violation("hosting.allowed", f"hosting {spec.hosting} is not allowed by the standards; "
                             f"allowed: {', '.join(hosting.allowed) or 'none listed'}",
                             f"use --hosting {hosting.allowed[0]}" if hosting.allowed else "ask the standards' owner"))
    if standards.monitoring.required and not spec.monitoring:
        out.append(Violation("monitoring.required", "monitoring is required by the standards",
                             "drop --no-monitoring"))
    retention = standards.monitoring.log_retention_days
    if retention and spec.log_retention_days != retention:
        out.append(Violation("monitoring.log_retention_days", f"log retention {spec.log_retention_days} days; "
                             f"the standards require {retention}", "regenerate with the standards file"))
    for key, value in standards.tags.items():
        if not spec.tags.get(key):
            default = f" (default {value!r})" if value else ""
            out.append(Violation("tags", f"tag {key!r} is required by the standards{default}",
                                 f"use --tag {key}=VALUE"))
    out += _tool_violations(spec, standards.tools)
    naming = standards.naming
    if spec.naming.pattern != naming.pattern or spec.naming.abbreviations != naming.resolved_abbreviations():
        out.append(Violation("naming", f"resource naming differs from the standards' pattern {naming.pattern!r}",
                             "regenerate with the standards file"))
    return out


def _tool_violations(spec: ProjectSpec, rules: ToolRules) -> list[Violation]:
    chosen = [t.name for t in spec.tools]
    out = []
    for name in chosen:
        if name in rules.denied:
            out.append(Violation("tools.denied", f"tool {name} is denied by the standards",
                                 f"drop --tool {name}"))
        elif rules.allowed is not None and name not in rules.allowed:
            out.append(Violation("tools.allowed", f"tool {name} is not allowed by the standards; allowed: "
                                 f"{', '.join(rules.allowed) or 'none'}", f"drop --tool {name}"))
    for name in rules.required:
        if name not in chosen:
            tool = catalog.tools()[name]
            offer = tool.offer(spec.runtime)
            if offer == "none":
                able = ", ".join(r.value for r in tool.offered_by()) or "no runtime of this version"
                msg = f"tool {name} is required by the standards, but the {spec.runtime.value} runtime does not " \
                      f"offer it (offered by: {able})"
                able_runtimes = tool.offered_by()
                hint = f"use --runtime {able_runtimes[0].value}" if able_runtimes else "ask the standards' owner"
            else:
                from scaffolder.tools import example_flag

                msg = f"tool {name} is required by the standards"
                hint = f"add {example_flag(tool)}"
            out.append(Violation("tools.required", msg, hint))
    return out


def enforce(spec: ProjectSpec, loaded: LoadedStandards | None) -> None:
    """Raise StandardsError naming the first broken rule (all of them in the message when several)."""
    if loaded is None:
        return
    found = violations(spec, loaded.standards)
    if found:
        first = found[0]
        more = f" (+{len(found) - 1} more: {', '.join(v.rule for v in found[1:])})" if len(found) > 1 else ""
        raise StandardsError(f"{first.message} [{loaded.standards.name}: {first.rule}]{more}", hint=first.hint)
