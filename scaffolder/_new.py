"""`new`: resolve answers into a ProjectSpec, plan the repo, write it atomically (or only report)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scaffolder import catalog
from scaffolder.catalog import Runtime
from scaffolder.errors import CatalogError, SpecError
from scaffolder.generate import FileAction, FilePlan, plan_actions, plan_files, with_pristine, write_plan
from scaffolder.generate._overlay import check_trust, run_hooks
from scaffolder.prompts import Prompter, Question, resolve
from scaffolder.spec import (
    ANSWERS_FILE,
    DEFAULT_LOCATION,
    DEFAULT_MODEL,
    ModelDeployment,
    ProjectSpec,
    build_spec,
    check_project_name,
    parse_model_option,
    runtime_mismatch,
    today,
)
from scaffolder.standards import LoadedStandards, enforce


@dataclass(frozen=True)
class NewResult:
    """What `new` generated (or, with dry_run, would generate)."""

    target: Path
    spec: ProjectSpec
    actions: tuple[FileAction, ...]
    dry_run: bool
    warnings: tuple[str, ...] = ()
    backup: Path | None = None  # where the files --force overwrote were kept
    notes: tuple[str, ...] = ()
    git: str = "not asked"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "target": str(self.target),
            "dry_run": self.dry_run,
            "spec": self.spec.model_dump(mode="json"),
            "files": [{"path": a.path, "action": a.verb} for a in self.actions],
            "warnings": list(self.warnings),
            "backup": str(self.backup) if self.backup else None,
            "notes": list(self.notes),
            "git": self.git,
        }


@dataclass(frozen=True)
class LifecycleReport:
    """The lifecycle verdict on a spec's models: refusals (retired), warnings, and which data said so."""

    retired: tuple[str, ...]
    warnings: tuple[str, ...]
    notes: tuple[str, ...]


def lifecycle_report(spec: ProjectSpec) -> LifecycleReport:
    """Judge every deployment on today's date (SOURCE_DATE_EPOCH honoured), the day `check` judges on.

    One rule with `check` (live.judge): a fresh cached region list (`scaffolder models --live --refresh`) when
    there is one, else the shipped catalog's published dates.
    """
    from scaffolder.catalog import live

    verdict = live.judge(spec.location, ((d.model, d.version, ANSWERS_FILE) for d in spec.models), today())
    confirm = f" (confirm with `scaffolder models --live --location {spec.location}`)"
    return LifecycleReport(tuple(j.status.message for j in verdict.retired),
                           tuple(j.status.message + confirm for j in verdict.concerns), verdict.notes)


def with_quota_usage(spec: ProjectSpec) -> tuple[ProjectSpec, tuple[str, ...]]:
    """The spec with each deployment's quota usage name from a fresh cached region list, and a note when none.

    The name (Azure's models.list `skus[].usageName`) goes into azd's location metadata so that `azd up` offers
    only regions with quota for the models. It is recorded in the spec, so `check` and `update` regenerate the
    same main.bicep whatever the cache holds later. Deployments that already carry one keep it.
    """
    from pydantic import ValidationError

    from scaffolder.catalog import live

    if all(d.quota_usage for d in spec.models):
        return spec, ()
    snapshot = live.fresh(spec.location, today())
    refresh = f"`scaffolder models --live --location {spec.location} --refresh`"
    if snapshot is None:
        return spec, (f"azd's location prompt will not check model quota: no fresh model list for {spec.location} "
                      f"is cached ({refresh}, then `scaffolder update`, adds it)",)
    models: list[ModelDeployment] = []
    unknown: list[str] = []
    for dep in spec.models:
        entry = snapshot.find(dep.model, dep.version) if dep.quota_usage is None else None
        usage = entry.usage_names.get(dep.sku) if entry is not None else None
        if usage:
            try:
                dep = ModelDeployment.model_validate({**dep.model_dump(), "quota_usage": usage})
            except ValidationError:  # a cache entry that is no usage name is not written into Bicep
                usage = None
        if dep.quota_usage is None:
            unknown.append(f"{dep.model} {dep.version} ({dep.sku})")
        models.append(dep)
    updated = spec.model_copy(update={"models": tuple(models)})  # each deployment was validated above
    note = (f"azd's location prompt will not check quota for {', '.join(unknown)}: {snapshot.describe()} gives "
            "no usage name for it") if unknown else None
    return updated, (note,) if note else ()


def capability_notes(spec: ProjectSpec) -> list[str]:
    """What the primary model cannot do that the app would use, from the catalog, and which models can."""
    known = catalog.models().get(spec.primary.model)
    if known is None or known.tool_calling is not False or spec.runtime is not Runtime.INFERENCE:
        return []
    day = today()
    able = [m.name for m in catalog.models_for(spec.runtime)
            if m.kind == "chat" and m.tool_calling and m.status(m.default_version, day).state == "current"]
    return [f"{known.name} cannot call tools (catalog): the app sends none (APP_MODEL_TOOLS=false in "
            f".env.example); models that can: {', '.join(able)}"]


def refuse_retired(report: LifecycleReport) -> None:
    """A retired model cannot be deployed: refuse before anything is written (exit 2), naming every one."""
    if report.retired:
        raise CatalogError(
            "; ".join(report.retired),
            hint="a retired model cannot be deployed; pick a current one (`scaffolder models`)",
        )


def suggest_project_name(value: str) -> str | None:
    """A valid name close to value (`My_App` -> `my-app`), or None when none is."""
    candidate = re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9]+", "-", value.strip().lower())).strip("-")
    candidate = re.sub(r"^[^a-z]+", "", candidate)
    try:
        return check_project_name(candidate) if candidate != value else None
    except ValueError:
        return None


def _validate_name(value: str, answers: dict[str, Any]) -> str:
    try:
        return check_project_name(value)
    except ValueError as exc:
        close = suggest_project_name(value)
        hint = f"try {close!r}, or fix the NAME argument" if close else "fix the NAME argument"
        raise SpecError(str(exc), hint=hint) from None


def _validate_runtime(value: str, answers: dict[str, Any]) -> Runtime:
    try:
        return Runtime(value.strip().lower())
    except ValueError:
        valid = ", ".join(r.value for r in Runtime)
        raise SpecError(f"unknown runtime {value!r}; choose one of: {valid}", hint="use --runtime") from None


def _validate_location(value: str, answers: dict[str, Any]) -> str:
    region = catalog.normalize_region(value)
    if region not in catalog.azure_regions():
        close = catalog.suggest(region, catalog.azure_regions())
        did = f"; did you mean {', '.join(close)}?" if close else ""
        raise SpecError(f"unknown Azure region {region!r}{did}", hint="use --location")
    runtime = Runtime(answers["runtime"])
    regions = catalog.runtime_regions(runtime)
    if region not in regions:
        title = catalog.runtimes()[runtime].title
        raise SpecError(
            f"{title} is not offered in {region}; pick one of: {', '.join(regions)}",
            hint="use --location, or --runtime inference (any region)",
        )
    return region


def _validate_models(value: str | list[str], answers: dict[str, Any]) -> list[str]:
    raw = value.split(";") if isinstance(value, str) else value
    items = [v.strip() for v in raw if v.strip()]
    runtime = Runtime(answers["runtime"])
    formats = sorted({f for profile in catalog.runtimes().values() for f in profile.model_formats})
    for item in items:
        dep = parse_model_option(item)
        if dep["format"] not in formats:
            # A near-miss publisher (format=Mistral) is a typo, not a model the runtime cannot serve.
            close = catalog.suggest(dep["format"], formats) or [f for f in formats if f.lower().startswith(
                dep["format"].lower()[:4])]
            did = f"did you mean {' or '.join(repr(f) for f in close)}? " if close else ""
            raise SpecError(f"--model {item!r}: unknown format {dep['format']!r}; {did}valid formats: "
                            f"{', '.join(formats)}", hint="format= is the model's publisher as Azure names it")
        if not catalog.serves(runtime, dep["model"], dep["format"]):
            raise SpecError(runtime_mismatch(dep["model"], runtime), hint="change --model or --runtime")
    return items


def _runtime_choices(answers: dict[str, Any]) -> list[tuple[str, str]]:
    return [(r.value, p.title) for r, p in catalog.runtimes().items()]


QUESTIONS = [
    Question("name", "NAME argument", "Project name", validate=_validate_name,
             help="Lowercase letters, digits and hyphens; names the app package and the Foundry project."),
    Question("runtime", "--runtime", "Runtime", choices=_runtime_choices, validate=_validate_runtime,
             default=lambda a: a.get("recommended") or a["_defaults"].get("runtime"),
             help="Which Foundry runtime the app is built on (load-bearing: it shapes state, tools and models)."),
    Question("location", "--location", "Azure region",
             default=lambda a: a["_defaults"].get("location") or os.environ.get("AZURE_LOCATION") or DEFAULT_LOCATION,
             validate=_validate_location),
    Question("models", "--model", "Model(s), ';'-separated",
             default=lambda a: _default_models(a),
             validate=_validate_models, help="`scaffolder models --runtime R` lists what each runtime serves."),
]


def partner_model(runtime: Runtime) -> str | None:
    """The catalog's first current chat model outside the OpenAI family that runtime serves (None: it serves none).

    One that can call tools comes first: the app it becomes the primary of sends its TOOLS.
    """
    day = today()
    current = [m for m in catalog.models_for(runtime)
               if m.format != "OpenAI" and m.kind == "chat" and m.status(m.default_version, day).state == "current"]
    current.sort(key=lambda m: not m.tool_calling)  # stable: catalog order within each group
    return current[0].name if current else None


def _default_models(answers: dict[str, Any]) -> str:
    chosen = answers["_defaults"].get("model") or DEFAULT_MODEL
    # `recommend --partner-models now` asked for a model outside the OpenAI family now: it comes first, so it is the
    # deployment the app calls (primaryModelDeployment); the default stays deployed beside it as the hedge.
    partner = partner_model(Runtime(answers["runtime"])) if answers.get("_partner_now") else None
    return f"{partner};{chosen}" if partner and partner != chosen else chosen


def partner_notes(spec: ProjectSpec) -> list[str]:
    """Why the app calls a partner model first (the decision said `models: now`), and how to switch."""
    if spec.decision.answers.get("models") != "now" or len(spec.models) < 2:
        return []
    known = catalog.models().get(spec.primary.model)
    if known is None or known.format == "OpenAI":
        return []
    others = ", ".join(d.name for d in spec.models[1:])
    return [f"the app calls {spec.primary.name} first (`recommend --partner-models now`); {others} is deployed "
            "too: set primaryModelDeployment in infra/main.parameters.json to call it instead"]


def resolve_spec(
    *,
    name: str | None,
    runtime: str | None,
    location: str | None = None,
    models: Sequence[str] = (),
    capacity: int | None = None,
    network: str = "public",
    allow_ips: Sequence[str] = (),
    monitoring: bool = True,
    hosting: str | None = None,
    principal_type: str = "User",
    agent_setup: str = "basic",
    existing: Mapping[str, str] | None = None,
    decision_answers: Mapping[str, Any] | None = None,
    tags: Mapping[str, str] | None = None,
    standards: LoadedStandards | None = None,
    prompter: Prompter | None = None,
    tools: Sequence[str] = (),
    framework: str = "openai",
) -> ProjectSpec:
    """Turn flags (and prompts for what is missing) into a validated ProjectSpec.

    Without a runtime, decision answers (from `recommend`) pick it; on a terminal the user is offered
    the recommend questions first, and the recommendation becomes the runtime question's default.
    Team standards supply defaults (runtime, model, location, tags, naming, retention) and are then
    enforced: a choice that breaks one is refused, naming the rule and the allowed values.
    `tools` are `--tool NAME[,k=v...]` texts; a runtime picked from decision answers also honours them.
    """
    from scaffolder import decision as recommend
    from scaffolder.tools import parse_tool_option

    rules = standards.standards if standards else None
    chosen_tools = [parse_tool_option(t) for t in tools]
    tool_names = [t["name"] for t in chosen_tools] + (list(rules.tools.required) if rules is not None else [])
    defaults = rules.defaults.model_dump(mode="json", exclude_none=True) if rules else {}
    decided = recommend.validate_answers(decision_answers or {})
    given: dict[str, Any] = {
        "name": name, "runtime": runtime, "location": location, "models": list(models), "_defaults": defaults,
    }
    given["_partner_now"] = decided.get("models") == "now"
    if not runtime and decided:
        given["runtime"] = recommend.recommend(decided, tools=tool_names).runtime.value
    elif not runtime and prompter is not None:
        given = resolve(QUESTIONS[:1], given, prompter)  # the name first, then how to pick the runtime
        if prompter.ask(_HELP_ME_CHOOSE, "pick", given).strip().lower() in {"2", "recommend"}:
            rec = recommend.ask(prompter, tools=tool_names)
            decided = {k: v for k, v in rec.answers.items() if v != recommend.NOT_ASKED}
            given["recommended"] = rec.runtime.value
            given["_partner_now"] = decided.get("models") == "now"
            _explain(rec)
    answers = resolve(QUESTIONS, given, prompter)
    deployments = [parse_model_option(m, default_capacity=capacity) for m in answers["models"]]
    if rules is not None:
        # The standards' required tools that the runtime offers are added with their catalog defaults (a required
        # option must still be given with --tool); one it does not offer is reported as a standards violation.
        given_names = {t["name"] for t in chosen_tools}
        chosen_tools += [{"name": n, "options": {}} for n in rules.tools.required
                         if n not in given_names and catalog.tools()[n].offer(Runtime(answers["runtime"])) != "none"]
    values = {
        "name": answers["name"],
        "runtime": answers["runtime"],
        "location": answers["location"],
        "models": deployments,
        "network": {"posture": network, "allow_ips": list(allow_ips)},
        "monitoring": monitoring,
        # absent: the standards' required hosting, else the first they allow, else Container Apps
        "hosting": hosting or _default_hosting(rules),
        "principal_type": principal_type,
        "agent_setup": agent_setup,
        "existing": dict(existing or {}),
        "decision": {"answers": decided},
        "tools": chosen_tools,
        "framework": framework,
    }
    if rules is not None and standards is not None:
        values["tags"] = {k: v for k, v in rules.tags.items() if v}
        values["naming"] = rules.naming.model_dump()
        if rules.monitoring.log_retention_days:
            values["log_retention_days"] = rules.monitoring.log_retention_days
        # The file name, not its path: the answers file is committed and must not carry a home directory.
        values["standards"] = {"name": rules.name, "source": standards.source.name, "sha256": standards.sha256}
    values["tags"] = {**values.get("tags", {}), **dict(tags or {})}
    spec = build_spec(values)
    enforce(spec, standards)
    return spec


def _default_hosting(rules: Any) -> str:
    from scaffolder.spec import DEFAULT_HOSTING

    if rules is None:
        return DEFAULT_HOSTING
    if rules.hosting.required:
        return str(rules.hosting.required)
    if rules.hosting.allowed and DEFAULT_HOSTING not in rules.hosting.allowed:
        return str(rules.hosting.allowed[0])
    return DEFAULT_HOSTING


_HELP_ME_CHOOSE = Question(
    "choose", "--runtime", "Pick the runtime yourself, or answer five questions for a recommendation",
    choices=lambda a: [("pick", "I know which runtime I want"), ("recommend", "help me choose")],
)


def _explain(rec: Any) -> None:
    import sys

    print(f"recommended: {rec.runtime.value}", file=sys.stderr)
    for reason in rec.reasons:
        print(f"  because {reason}", file=sys.stderr)
    for trade_off in rec.trade_offs:
        print(f"  trade-off: {trade_off}", file=sys.stderr)
    for conflict in rec.conflicts:
        print(f"  conflict: {conflict}", file=sys.stderr)
    print("  (the answers go into docs/adr/0001-runtime-choice.md; Enter keeps the recommendation)", file=sys.stderr)


def new(
    spec: ProjectSpec,
    target: Path,
    *,
    force: bool = False,
    dry_run: bool = False,
    standards: LoadedStandards | None = None,
    trust: bool = False,
    git: bool = False,
) -> NewResult:
    """Generate the repo for spec into target; with dry_run, report the actions without writing.

    The standards' overlays are rendered into the repo; their hooks run (in the staged repo, before it
    is moved into place) only with trust. With git (the CLI's default), a new repo gets `git init` and an
    initial commit when git is on PATH, unless it lands inside another project's work tree (said in a warning).
    """
    report = lifecycle_report(spec)
    refuse_retired(report)
    spec, quota_notes = with_quota_usage(spec)
    overlays = standards.overlay_dirs() if standards else []
    plan: FilePlan = with_pristine(plan_files(spec, overlays))
    warnings = list(report.warnings)
    notes = report.notes + quota_notes + tuple(capability_notes(spec)) + tuple(partner_notes(spec))
    outer = enclosing_work_tree(target)
    if outer is not None:
        warnings.append(f"{target} is inside the git work tree of another project ({outer}): the generated repo "
                        "becomes part of it (no `git init`); generate it elsewhere with -o DIR to keep it separate")
    # A dry run refuses exactly what the real run would (untrusted hooks: exit 4), it only writes nothing.
    check_trust(plan.hooks, trust, plan.needs_trust)
    if dry_run:
        actions = plan_actions(plan, target, force=force)
        return NewResult(target=target, spec=spec, actions=tuple(actions), dry_run=True, warnings=tuple(warnings),
                         notes=notes)
    hooks = plan.hooks
    backups: list[Path] = []
    fresh = not (target / ".git").exists()
    actions = write_plan(plan, target, force=force, before_move=(lambda staged: run_hooks(hooks, staged)),
                         on_backup=backups.append)
    state = "not asked"
    if git:
        if outer is not None:
            state = f"skipped: inside the work tree of {outer}"
        elif not fresh:
            state = "skipped: the directory already is a git repo"
        else:
            state = git_init(target)
            if not state.startswith("initialised"):
                warnings.append(f"git: {state}")
    return NewResult(target=target, spec=spec, actions=tuple(actions), dry_run=dry_run, warnings=tuple(warnings),
                     notes=notes, backup=backups[0] if backups else None, git=state)


def enclosing_work_tree(target: Path) -> Path | None:
    """The top of the git work tree target would land in (a `.git` in one of its parents), if any."""
    for parent in target.resolve().parents:
        if (parent / ".git").exists():
            return parent
    return None


def git_init(target: Path) -> str:
    """`git init` and one commit of everything generated; the outcome in words (git missing or failing is no error).

    The commit is what `scaffolder update` merges from. It uses the user's git identity when one is set,
    else the tool's; SOURCE_DATE_EPOCH, when set, dates it (reproducible builds).
    """
    exe = shutil.which("git")
    if exe is None:
        return "skipped: git is not on PATH"
    env = dict(os.environ)
    if os.environ.get("SOURCE_DATE_EPOCH"):
        stamp = f"@{int(os.environ['SOURCE_DATE_EPOCH'])} +0000"
        env.update(GIT_AUTHOR_DATE=stamp, GIT_COMMITTER_DATE=stamp)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([exe, *args], cwd=target, env=env, capture_output=True, text=True, timeout=60,
                              check=False)

    # No signing prompt (pinentry) in the middle of `new`: the generated commit is a plain base for `update`.
    identity: list[str] = ["-c", "commit.gpgsign=false"]
    if run("config", "user.email").returncode != 0:
        identity += ["-c", "user.name=foundry-scaffolder", "-c", "user.email=foundry-scaffolder@localhost"]
    from scaffolder import __version__

    for args in (["init", "-q"], ["add", "-A"],
                 [*identity, "commit", "-q", "--no-verify", "-m", f"Generated by foundry-scaffolder {__version__}"]):
        done = run(*args)
        if done.returncode != 0:
            verb = next(a for a in args if a in {"init", "add", "commit"})
            return f"failed: git {verb}: {(done.stderr or done.stdout).strip()[:200]}"
    return "initialised with an initial commit"
