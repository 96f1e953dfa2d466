"""Pure file planning: the spec in, the exact list of files (path, bytes, mode) out; nothing touches disk."""

from __future__ import annotations

import gzip
import io
import json
import os
import stat
import tarfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import jinja2
import yaml
from jinja2.sandbox import SandboxedEnvironment

from scaffolder import __version__, catalog, infra
from scaffolder._resources import bicep_dir, templates_dir
from scaffolder.errors import TemplateError
from scaffolder.generate._files import safe_relative, template_files
from scaffolder.generate._overlay import as_planned, render_overlays, trust_needed
from scaffolder.spec import ANSWERS_FILE, ProjectSpec, RuntimeDecision

ROOT_DIR = "{{cookiecutter.project_name}}"
LAYER_FILE = "layer.yaml"
_SETTING_TYPES = {"str": str, "int": int, "float": float, "bool": bool}
EXECUTABLE = 0o755
REGULAR = 0o644


@dataclass(frozen=True)
class PlannedFile:
    """One file of a generated repo."""

    path: PurePosixPath
    content: bytes
    mode: int = REGULAR
    source: str = "template"


@dataclass(frozen=True)
class FilePlan:
    """Every file a spec generates, sorted by path."""

    spec: ProjectSpec
    files: tuple[PlannedFile, ...] = field(default_factory=tuple)
    hooks: tuple[Path, ...] = ()
    # Overlay paths that replace generated files or define azd hooks: written only with --trust.
    needs_trust: tuple[str, ...] = ()

    def paths(self) -> list[str]:
        """Relative paths, POSIX style."""
        return [str(f.path) for f in self.files]

    def get(self, path: str) -> PlannedFile:
        """The planned file at a relative path."""
        for f in self.files:
            if str(f.path) == path:
                return f
        raise KeyError(path)

    def text(self, path: str) -> str:
        """A planned file's content as text."""
        return self.get(path).content.decode("utf-8")


def _decision(runtime: catalog.Runtime, decision: RuntimeDecision) -> dict[str, Any]:
    from scaffolder.decision import NOT_ASKED, decision_data, recommend

    questions = decision_data().questions
    answers = decision.answers
    rec = recommend(answers) if answers else None
    gives_up = decision_data().gives_up[runtime]
    return {
        "asked": bool(answers),
        "date": decision.date.isoformat(),
        "answers": [{"question": q.text, "answer": answers.get(q.key, NOT_ASKED)} for q in questions],
        "recommended": rec.runtime.value if rec else None,
        "reasons": list(rec.reasons) if rec and rec.runtime == runtime else [],
        "trade_offs": list(rec.trade_offs) if rec and rec.runtime == runtime else [],
        "conflicts": list(rec.conflicts) if rec else [],
        "gives_up": list(gives_up),
    }


def template_context(spec: ProjectSpec, tool_version: str = __version__) -> dict[str, Any]:
    """The variables every template sees as `cookiecutter.*` (also what raw cookiecutter is given)."""
    profile = catalog.runtimes()[spec.runtime]
    env = infra.app_env(spec)
    added = tool_needs(spec.runtime, list(dict.fromkeys(t.name for t in spec.tools)),  # a repeated tool adds once
                       hosted=spec.hosting == "container-apps")
    layered = _layer_context(spec.runtime.value, {**_catalog_defaults(spec), **_tool_defaults(spec, added)},
                             added["settings"], added["packages"], framework=spec.framework)
    layered["cli_modules"] = [*layered["cli_modules"], *(m for m in added["cli_modules"]
                                                        if m not in layered["cli_modules"])]
    layered["app_readme"] = [*layered["app_readme"], *added["readme"]]
    layered["app_dev_dependencies"] = [*layered["app_dev_dependencies"], *(
        p for p in added["dev_packages"] if p not in layered["app_dev_dependencies"])]
    layered["app_modules"] = [*layered["app_modules"], *added["modules"]]
    return {
        "decision": _decision(spec.runtime, spec.decision),
        "adr": {"number": 1, "status": "accepted"},
        "project_name": spec.name,
        "package": spec.package,
        "runtime": spec.runtime.value,
        "runtime_title": profile.title,
        "runtime_summary": profile.summary,
        "token_scope": profile.token_scope,
        "location": spec.location,
        "model_deployment": spec.primary.name,
        "models": [m.model_dump(mode="json") for m in spec.models],
        "network_posture": spec.network.posture,
        "allow_ips": list(spec.network.allow_ips),
        "monitoring": spec.monitoring,
        "hosting": spec.hosting,
        "principal_type": spec.principal_type,
        "agent_setup": spec.agent_setup,
        "ai_search": {"enabled": spec.uses_search, "existing": spec.search_resource_id},
        "tool_connections": infra.tool_connections(spec),
        "tool_version": tool_version,
        "env_vars": [v.model_dump() for v in env],
        **layered,
        "embedding_deployment": embedding_deployment(spec),
        # Keyed by name (a repeatable tool: its first instance, so `'agent' in cookiecutter.tools` works); every
        # specialist agent (`--tool agent,name=...`, flag order) is in `agents`.
        "tools": {t.name: dict(t.options) for t in reversed(spec.tools)},
        "agents": specialist_agents(spec),
        "framework": spec.framework,
        "tools_readme": _tools_readme(spec),
        "tool_needs": added,
        # the tools' settings infra/main.bicep passes to the container app (ci.yml and azure.yaml carry them too)
        "deployed_settings": [{"name": d.name, "source": d.source, "default": d.default}
                              for d in infra.deployed_settings(spec)],
        # The chosen tools' settings the container app never gets (catalog `deploy: local`): the README says so.
        "local_tool_settings": ([n for n, body in added["settings"].items() if body["deploy"] == "local"]
                                if spec.hosting == "container-apps" else []),
        "model_tools": _catalog_defaults(spec)["APP_MODEL_TOOLS"],
        "grants": [
            {
                "principal": g.principal,
                "role": g.role.name,
                "role_id": g.role.id,
                "scope": g.scope,
                "grants": g.role.grants + (f"; why: {g.reason}" if g.reason else ""),
            }
            for g in infra.grants(spec)
        ],
    }


def specialist_agents(spec: ProjectSpec) -> list[dict[str, str]]:
    """The specialist agents (`--tool agent,name=NAME[,instructions=TEXT]`), with their instructions resolved."""
    return [
        {
            "name": t.options["name"],
            "instructions": t.options.get("instructions") or (
                f"You are the {t.options['name']} specialist of {spec.name}. Answer only questions about "
                f"{t.options['name']}; say so when a question is outside it."),
            "connection": f"a2a-{t.options['name']}",
        }
        for t in spec.tools if t.name == "agent"
    ]


def _catalog_defaults(spec: ProjectSpec) -> dict[str, Any]:
    """App-setting defaults that follow the primary model's catalog capabilities.

    A layer declares the setting;
    this only changes its default): the history budget from the context window, tools off when the model
    cannot call them (None, not published: tools stay on).
    """
    primary = catalog.models().get(spec.primary.model)
    tools = primary is None or primary.tool_calling is not False
    out: dict[str, Any] = {
        "APP_CONTEXT_TOKENS": catalog.context_budget(spec.primary.model),
        "APP_MODEL_TOOLS": tools,
    }
    if not tools and spec.runtime is catalog.Runtime.INFERENCE:  # no tools sent: the instructions offer none
        out["APP_INSTRUCTIONS"] = "You are a helpful assistant; keep answers short."
    return out


def _tool_defaults(spec: ProjectSpec, added: dict[str, Any]) -> dict[str, Any]:
    """Tool settings whose defaults the spec decides (infra.tool_setting_defaults: the same values infra/ binds)."""
    return infra.tool_setting_defaults(spec, added["settings"])


def embedding_deployment(spec: ProjectSpec) -> str:
    """The first deployment of a catalog embeddings model (file search embeds with it), or ""."""
    return infra.embedding_deployment(spec)


def _tools_readme(spec: ProjectSpec) -> dict[str, Any]:
    """The README's Tools section: exactly the chosen tools, and how to add the others this runtime offers."""
    from scaffolder.tools import example_flag

    chosen = {t.name for t in spec.tools}
    usage = tool_needs(spec.runtime, sorted(chosen), hosted=spec.hosting == "container-apps")["usage"]
    rows = []
    for tool in catalog.tools().values():
        offer = tool.offer(spec.runtime)
        rows.append({
            "name": tool.name,
            "title": tool.title,
            "summary": tool.summary,
            "preview": tool.preview,
            "offer": offer,
            "options": ({"name": ", ".join(t.options["name"] for t in spec.tools if t.name == tool.name)}
                        if tool.repeatable else dict(next((t.options for t in spec.tools if t.name == tool.name), {}))),
            "flag": example_flag(tool),
            "why": tool.why.get(spec.runtime, ""),
            "always": tool.always,
            "docs_only": tool.docs_only,
            "chosen": tool.always or tool.name in chosen,
            "usage": usage.get(tool.name, "").replace("{app}", spec.name),
        })
    return {
        "chosen": [r for r in rows if r["chosen"]],
        "available": [r for r in rows if not r["chosen"] and r["offer"] != "none"],
        "documented": [r for r in rows if r["docs_only"] and spec.runtime in catalog.tools()[r["name"]].documented_on],
    }


def tool_needs(runtime: catalog.Runtime, names: list[str], hosted: bool = True) -> dict[str, Any]:
    """What the chosen tools add (settings, packages, Bicep modules, roles), from the catalog."""
    from scaffolder.tools import needs

    return needs(runtime, names, hosted)


def _layer_context(
    runtime: str,
    overrides: dict[str, Any] | None = None,
    tool_settings: dict[str, dict[str, Any]] | None = None,
    tool_packages: list[str] | None = None,
    tool_cli_modules: list[str] | None = None,
    framework: str = "openai",
) -> dict[str, Any]:
    """Merge templates/base/layer.yaml and the runtime's: dependencies, CLI modules, app settings, README parts.

    A layer's `frameworks.<framework>` block (the chat loop's library, `--framework`) is merged right after that
    layer. The chosen tools' settings and packages (catalog needs) are merged in last, so that settings.py,
    .env.example, pyproject.toml and the README pick them up with no per-tool template code.
    """
    deps: list[str] = []
    dev_deps: list[str] = []
    cli_modules: list[str] = []
    modules: list[dict[str, str]] = []
    readme: list[str] = []
    settings: dict[str, dict[str, Any]] = {}
    layers: list[tuple[str, dict[str, Any]]] = []
    for layer in ("base", runtime):
        path = templates_dir() / layer / LAYER_FILE
        if path.is_file():
            data = yaml.load(path.read_text(encoding="utf-8"), Loader=catalog.YAML_LOADER) or {}
            layers.append((layer, data))
            frameworks = data.get("frameworks")
            if isinstance(frameworks, dict) and frameworks.get(framework):
                layers.append((f"{layer}/{LAYER_FILE} frameworks.{framework}", frameworks[framework]))
    if tool_settings or tool_packages or tool_cli_modules:
        layers.append(("catalog/tools.yaml", {"settings": tool_settings or {}, "dependencies": tool_packages or [],
                                              "cli_modules": tool_cli_modules or []}))
    for layer, data in layers:
        deps += [d for d in data.get("dependencies", []) if d not in deps]
        dev_deps += data.get("dev_dependencies", [])
        cli_modules += [m for m in data.get("cli_modules", []) if m not in cli_modules]
        modules += [{"name": str(m["name"]), "what": str(m["what"])} for m in data.get("modules", [])]
        if data.get("readme"):
            readme.append(str(data["readme"]).strip())
        for name, body in (data.get("settings") or {}).items():
            if overrides and name in overrides:
                body = {**body, "default": overrides[name]}
            # Checked after the catalog's override, so a catalog value of the wrong type is caught too.
            kind = _SETTING_TYPES.get(body.get("type", "str"))
            if kind is None or not isinstance(body.get("default"), kind):
                where = layer if ".yaml" in layer else f"{layer}/{LAYER_FILE}"
                raise TemplateError(f"{where}: setting {name} needs a default of type {body.get('type')}")
            settings[name] = {
                "name": name,
                "field": name.lower(),
                "type": body.get("type", "str"),
                "default": body["default"],
                "default_py": repr(body["default"]),
                "default_env": str(body["default"]).lower() if kind is bool else str(body["default"]),
                "description": body["description"],
            }
    return {
        "app_dependencies": deps,
        "app_dev_dependencies": dev_deps,
        "cli_modules": cli_modules,
        "app_settings": list(settings.values()),
        "app_modules": modules,
        "app_readme": readme,
    }


def _bytecode_cache() -> jinja2.BytecodeCache | None:
    # Compiling the templates is most of `new`'s own time; Jinja's bytecode cache (keyed by template name
    # and source checksum, so an edited template is recompiled) makes the next run skip it.
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    folder = private_dir(Path(base) / "foundry-scaffolder" / f"jinja-{__version__}")
    return jinja2.FileSystemBytecodeCache(str(folder)) if folder is not None else None


def private_dir(folder: Path) -> Path | None:
    """folder, created 0700 (parents too), when it is a real directory owned by us and closed to others.

    Its files are loaded as code (marshalled bytecode), so, as Jinja's own default cache does, a folder
    another user owns or can write, or a link, is not used: None (rendering then just compiles).
    """
    try:
        for part in [*reversed(_missing(folder))]:
            part.mkdir(mode=0o700)
    except FileExistsError:
        pass
    except OSError:
        return None
    try:
        info = folder.lstat()
    except OSError:
        return None
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        return None
    if stat.S_IMODE(info.st_mode) & 0o077:
        try:
            folder.chmod(0o700)
        except OSError:
            return None
        if stat.S_IMODE(folder.lstat().st_mode) & 0o077:
            return None
    return folder


def _missing(folder: Path) -> list[Path]:
    missing = []
    while not folder.exists() and not folder.is_symlink() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    return missing


def _environment() -> SandboxedEnvironment:
    env = SandboxedEnvironment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        bytecode_cache=_bytecode_cache(),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
        extensions=["jinja2.ext.loopcontrols"],
    )
    # `tojson` writes user text into .py files as string literals: JSON's ASCII escapes would turn a character
    # outside the BMP (an emoji) into a surrogate pair, "\ud83d\ude80", which Python reads as two unpaired
    # surrogates that cannot be encoded. Kept as UTF-8, every JSON string is also a valid Python literal.
    env.policies["json.dumps_kwargs"] = {"sort_keys": True, "ensure_ascii": False}
    return env


def _template(env: SandboxedEnvironment, src: Path) -> jinja2.Template:
    """Load through the loader (bytecode-cached) when the file is under the templates root."""
    try:
        name = src.relative_to(templates_dir()).as_posix()
    except ValueError:
        return env.from_string(src.read_text(encoding="utf-8"))
    return env.get_template(name)


def _render_tree(layer: Path, env: SandboxedEnvironment, ctx: dict[str, Any]) -> dict[str, PlannedFile]:
    root = layer / ROOT_DIR
    out: dict[str, PlannedFile] = {}
    for src in template_files(root):
        rel = src.relative_to(root).as_posix()
        try:
            rendered_rel = env.from_string(rel).render(cookiecutter=ctx) if "{" in rel else rel
            if any(not part.strip() for part in rendered_rel.split("/")):
                continue  # a path segment rendering empty means "not for this spec"
            safe_relative(rendered_rel, f"template {layer.name}/{rel}")
            text = _template(env, src).render(cookiecutter=ctx)
        except (jinja2.TemplateError, UnicodeDecodeError) as exc:
            where = f"{layer.name}/{rel}"
            raise TemplateError(f"template {where} failed to render: {exc}") from exc
        mode = EXECUTABLE if src.stat().st_mode & 0o111 else REGULAR
        out[rendered_rel] = PlannedFile(PurePosixPath(rendered_rel), text.encode("utf-8"), mode)
    return out


def _bicep_files(spec: ProjectSpec) -> dict[str, PlannedFile]:
    root = bicep_dir()
    out = {}
    for src in sorted(root.rglob("*.bicep")):
        rel = "infra/" + src.relative_to(root).as_posix()
        data = src.read_bytes()
        if rel == "infra/main.bicep":
            data = infra.main_bicep(data.decode("utf-8"), spec).encode("utf-8")
        out[rel] = PlannedFile(PurePosixPath(rel), data, REGULAR, source="bicep")
    return out


def plan_files(spec: ProjectSpec, overlays: Sequence[Path] = (), tool_version: str = __version__) -> FilePlan:
    """Plan every file of the repo: app template layers, team overlays, Bicep, parameters, answers file."""
    ctx = template_context(spec, tool_version)
    env = _environment()
    files: dict[str, PlannedFile] = {}
    for layer in ("base", spec.runtime.value):
        layer_dir = templates_dir() / layer
        if layer_dir.is_dir():
            files.update(_render_tree(layer_dir, env, ctx))
    extra, hooks = render_overlays(overlays, env, ctx)
    gated = trust_needed(list(extra), list(files))
    files.update({path: PlannedFile(**kw, source="overlay") for path, kw in as_planned(extra).items()})
    files.update(_bicep_files(spec))
    params = json.dumps(infra.azd_parameters_file(spec), indent=2) + "\n"
    files["infra/main.parameters.json"] = PlannedFile(
        PurePosixPath("infra/main.parameters.json"), params.encode(), source="spec"
    )
    files.update(_adr_records(spec, env, ctx))
    files[ANSWERS_FILE] = PlannedFile(
        PurePosixPath(ANSWERS_FILE), spec.to_answers(tool_version).encode(), source="spec"
    )
    return FilePlan(spec, tuple(files[k] for k in sorted(files)), tuple(hooks), tuple(gated))


def with_pristine(plan: FilePlan) -> FilePlan:
    """The plan plus its pristine archive, as `new` and `update` write it.

    The archive (what the generator produced, byte for byte) lets `update` three-way merge offline against the
    exact output of this version, whatever later versions change (templates, catalog facts, code). It is kept
    out of `plan_files` so that the plan stays the text files a user reads and the tests compare.
    """
    archive = PlannedFile(PurePosixPath(PRISTINE_FILE), pack_pristine(plan.files), source="spec")
    files = sorted((*(f for f in plan.files if str(f.path) != PRISTINE_FILE), archive), key=lambda f: str(f.path))
    return FilePlan(plan.spec, tuple(files), plan.hooks, plan.needs_trust)


ADR_DIR = "docs/adr"
ADR_FIRST = f"{ADR_DIR}/0001-runtime-choice.md"
_ADR_FIRST_TEMPLATE = f"base/{ROOT_DIR}/{ADR_FIRST}"
_ADR_SWITCH_TEMPLATE = "base/_adr/runtime-switch.md"


def adr_name(number: int, runtime: str) -> str:
    """File name of ADR record `number` (1: the first choice; later ones: the runtime switches)."""
    return ADR_FIRST if number == 1 else f"{ADR_DIR}/{number:04d}-runtime-switch-to-{runtime}.md"


def _adr_records(spec: ProjectSpec, env: SandboxedEnvironment, ctx: dict[str, Any]) -> dict[str, PlannedFile]:
    """One ADR record per runtime decision; each superseded one says which record replaced it.

    With no switch this is the record the base layer already rendered; after switches the first record is
    rendered for the runtime it chose then, and each switch gets its own record.
    """
    if not spec.superseded:
        return {}
    chain: list[tuple[catalog.Runtime, RuntimeDecision]] = [(d.runtime, d) for d in spec.superseded]
    chain.append((spec.runtime, spec.decision))
    out = {}
    for number, (runtime, decision) in enumerate(chain, 1):
        path = adr_name(number, runtime.value)
        if number < len(chain):
            following = adr_name(number + 1, chain[number][0].value)
            status = f"superseded by [{following.rsplit('/', 1)[1]}]({following.rsplit('/', 1)[1]})"
        else:
            status = "accepted"
        profile = catalog.runtimes()[runtime]
        record = {
            **ctx,
            "runtime": runtime.value,
            "runtime_title": profile.title,
            "runtime_summary": profile.summary,
            "decision": _decision(runtime, decision),
            "adr": {
                "number": number,
                "status": status,
                "supersedes": adr_name(number - 1, chain[number - 2][0].value).rsplit("/", 1)[1] if number > 1 else "",
                "switched_from": decision.switched_from.value if decision.switched_from else "",
                "switched_from_title": catalog.runtimes()[decision.switched_from].title
                if decision.switched_from else "",
                "changes": list(decision.changes),
            },
        }
        template = _ADR_FIRST_TEMPLATE if number == 1 else _ADR_SWITCH_TEMPLATE
        try:
            text = env.get_template(template).render(cookiecutter=record)
        except jinja2.TemplateError as exc:
            raise TemplateError(f"template {template} failed to render: {exc}") from exc
        out[path] = PlannedFile(PurePosixPath(path), text.encode("utf-8"))
    return out


PRISTINE_FILE = ".scaffolder/pristine.tar.gz"
# Where `update` keeps the files it overwrote when git does not hold them: in the repo (git-ignored), never part
# of the generated tree, the pristine archive, check's walk or update's comparisons.
BACKUPS_DIR = ".scaffolder/backups"


def is_backup_path(rel: str) -> bool:
    """Whether a repo-relative POSIX path lies under BACKUPS_DIR."""
    return rel == BACKUPS_DIR or rel.startswith(BACKUPS_DIR + "/")
PRISTINE_MAX_BYTES = 64 * 2**20
PRISTINE_MAX_FILES = 10_000
# The tar stream of a full archive: contents plus a header and padding (and room for a long-name record) per file.
PRISTINE_MAX_TAR_BYTES = PRISTINE_MAX_BYTES + PRISTINE_MAX_FILES * 4096 + 2**20


def pack_pristine(files: Iterable[PlannedFile]) -> bytes:
    """A reproducible tar.gz of the generated files (fixed times and owners, sorted), answers file excluded."""
    buffer = io.BytesIO()
    with (
        # Level 1: a few times faster than 9 for ~20% more bytes; `new` pays for it on every run.
        gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0, compresslevel=1) as zipped,
        tarfile.open(fileobj=zipped, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for f in sorted(files, key=lambda f: str(f.path)):
            if str(f.path) in (ANSWERS_FILE, PRISTINE_FILE) or is_backup_path(str(f.path)):
                continue
            info = tarfile.TarInfo(str(f.path))
            info.size = len(f.content)
            info.mode = f.mode
            tar.addfile(info, io.BytesIO(f.content))
    return buffer.getvalue()


def unpack_pristine(data: bytes) -> dict[str, PlannedFile]:
    """The files of a pristine archive by path; only regular files with safe relative paths are read."""
    out: dict[str, PlannedFile] = {}
    total = 0
    count = 0
    # Decompress at most what a full archive can hold (gzip bomb: bounded CPU and memory), then read the tar.
    with gzip.GzipFile(fileobj=io.BytesIO(data), mode="rb") as unzipped:
        raw = unzipped.read(PRISTINE_MAX_TAR_BYTES + 1)
    if len(raw) > PRISTINE_MAX_TAR_BYTES:
        raise TemplateError(f"{PRISTINE_FILE} decompresses to more than {PRISTINE_MAX_TAR_BYTES // 2**20} MiB: "
                            "not what the generator wrote")
    with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as tar:
        # Members one at a time, every member counted, not only files: a hundred thousand directory entries
        # (headers compress to almost nothing) or a link declaring a huge size is a bomb too.
        for member in tar:
            # The archive sits in a user's repo: bound what it may make us hold (a generated repo is ~0.3 MB).
            total += member.size
            count += 1
            if total > PRISTINE_MAX_BYTES or count > PRISTINE_MAX_FILES:
                raise TemplateError(f"{PRISTINE_FILE} unpacks to more than {PRISTINE_MAX_BYTES // 2**20} MiB "
                                    f"or {PRISTINE_MAX_FILES} entries: not what the generator wrote")
            if not member.isfile():
                continue
            rel = safe_relative(member.name, f"{PRISTINE_FILE} entry")
            handle = tar.extractfile(member)
            if handle is None or is_backup_path(rel):
                continue  # update's backups are never a base: it must not merge into or delete them
            mode = EXECUTABLE if member.mode & 0o111 else REGULAR
            out[rel] = PlannedFile(PurePosixPath(rel), handle.read(), mode)
    return out
