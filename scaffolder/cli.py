"""The `scaffolder` command line: parse flags, call the library, render the result; one error handler."""

from __future__ import annotations

import functools
import json
import os
import sys
import traceback
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import click
import typer

from scaffolder import __version__
from scaffolder.errors import ScaffolderError, SpecError

if TYPE_CHECKING:  # annotations only: the catalog is imported lazily (`--help` stays fast)
    import datetime as dt

    from scaffolder.catalog import CatalogModel, Runtime

app = typer.Typer(
    name="scaffolder",
    help="Pick a Microsoft Foundry runtime and generate a keyless, least-privilege starter repo.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    rich_markup_mode="rich",
)

F = TypeVar("F", bound=Callable[..., Any])


class RuntimeChoice(StrEnum):
    """CLI choices for --runtime (mirrors scaffolder.catalog.Runtime without importing it)."""

    responses = "responses"
    agents = "agents"
    inference = "inference"


class NetworkChoice(StrEnum):
    """CLI choices for --network."""

    public = "public"
    ip_restricted = "ip-restricted"


class PrincipalChoice(StrEnum):
    """CLI choices for --principal-type."""

    User = "User"
    ServicePrincipal = "ServicePrincipal"
    Group = "Group"


def _err(text: str) -> None:
    # Every message goes through the scrubber: an error quoting a key, a connection string or a token
    # (an SDK's text passed through) must not put it in a terminal or a CI log.
    from scaffolder.redact import scrub

    print(scrub(text), file=sys.stderr)


def handled(func: F) -> F:
    """The one error handler: a ScaffolderError becomes one line, a hint and its exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ScaffolderError as exc:
            if _state["debug"]:
                _err(traceback.format_exc().rstrip())
            _err(f"error: {exc.message}")
            if exc.hint:
                _err(f"hint: {exc.hint}")
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            _err("stopped by user")
            raise typer.Exit(130) from None
        except BrokenPipeError:
            # `scaffolder models | head`: the reader left; stop quietly, as Unix tools do.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise typer.Exit(141) from None
        except OSError as exc:
            # The machine said no (permissions, a full disk, a missing path): one line, not a traceback.
            if _state["debug"]:
                _err(traceback.format_exc().rstrip())
            where = f": {exc.filename}" if exc.filename else ""
            _err(f"error: {exc.strerror or exc}{where}")
            raise typer.Exit(1) from None
        except (typer.Exit, typer.Abort, click.ClickException):
            raise  # the command's own exit codes and usage errors
        except Exception as exc:
            # Anything left (a bug, an SDK failure no layer classified): one line; the traceback with --debug.
            if _state["debug"]:
                traceback.print_exc()
            first = (str(exc).strip().splitlines() or [""])[0][:300]
            _err(f"error: unexpected {type(exc).__name__}{': ' + first if first else ''}")
            _err("hint: re-run with --debug for the traceback, and report it if it persists")
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


_state: dict[str, bool] = {"debug": False}


def _version(value: bool) -> None:
    if value:
        print(f"foundry-scaffolder {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    _state["debug"] = debug


@app.command()
@handled
def new(
    name: Annotated[str | None, typer.Argument(help="Project name (lowercase, digits, hyphens).")] = None,
    runtime: Annotated[
        RuntimeChoice | None, typer.Option("--runtime", "-r", help="Foundry runtime the app is built on.")
    ] = None,
    location: Annotated[
        str | None, typer.Option("--location", "-l", help="Azure region [default: $AZURE_LOCATION or eastus2].")
    ] = None,
    model: Annotated[
        list[str] | None,
        typer.Option(
            "--model",
            "-m",
            help="Model to deploy, repeatable: NAME[@VERSION][,sku=S][,capacity=N][,deployment=D]"
            "[,format=PUBLISHER] (format for models outside the catalog). The first is the one the app calls.",
        ),
    ] = None,
    capacity: Annotated[
        int | None,
        typer.Option(min=1, help="Default capacity (thousands of tokens per minute) for every model."),
    ] = None,
    network: Annotated[NetworkChoice, typer.Option(help="Network posture of the Foundry resource.")] = (
        NetworkChoice.public
    ),
    allow_ip: Annotated[
        list[str] | None, typer.Option("--allow-ip", help="Public IPv4 or CIDR let in (ip-restricted), repeatable.")
    ] = None,
    monitoring: Annotated[bool, typer.Option(help="Log Analytics + Application Insights.")] = True,
    principal_type: Annotated[
        PrincipalChoice, typer.Option(help="Deploying principal: User locally, ServicePrincipal in CI.")
    ] = PrincipalChoice.User,
    output: Annotated[Path, typer.Option("--output", "-o", help="Parent directory of the new repo.")] = Path(),
    force: Annotated[bool, typer.Option(help="Write into a non-empty directory (differing files are overwritten).")] = (
        False
    ),
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List what would be written; write nothing.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")] = False,
    no_input: Annotated[bool, typer.Option("--no-input", help="Never prompt; fail listing missing values.")] = False,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="Resource tag KEY=VALUE, repeatable.")] = None,
    standards: Annotated[
        Path | None,
        typer.Option("--standards", help="Team standards file [default: $SCAFFOLDER_STANDARDS, then "
                     "~/.config/foundry-scaffolder/standards.yml]."),
    ] = None,
    trust: Annotated[bool, typer.Option(help="Run the hooks of the standards' overlays.")] = False,
    decision: Annotated[
        Path | None,
        typer.Option("--decision", help="Answers of `scaffolder recommend` (YAML/JSON) for the ADR; picks the "
                     "runtime when --runtime is absent."),
    ] = None,
) -> None:
    """Generate a starter repo for a Foundry runtime: Bicep, keyless RBAC, app skeleton, CI."""
    from scaffolder import _new
    from scaffolder import standards as team
    from scaffolder.decision import load_answers_file
    from scaffolder.prompts import ConsolePrompter, interactive_allowed

    found = team.discover(standards)
    loaded = team.load(found) if found else None
    prompter = ConsolePrompter() if interactive_allowed(no_input or as_json) else None
    spec = _new.resolve_spec(
        name=name,
        runtime=runtime.value if runtime else None,
        location=location,
        models=model or [],
        capacity=capacity,
        network=network.value,
        allow_ips=allow_ip or [],
        monitoring=monitoring,
        principal_type=principal_type.value,
        decision_answers=load_answers_file(decision) if decision else None,
        tags=_parse_tags(tag or []),
        standards=loaded,
        prompter=prompter,
    )
    result = _new.new(spec, output / spec.name, force=force, dry_run=dry_run, standards=loaded, trust=trust)
    if as_json:
        print(json.dumps(result.as_dict(), indent=2))
        return
    _render_new(result)


def _parse_tags(items: list[str]) -> dict[str, str]:
    from scaffolder.errors import SpecError

    tags = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise SpecError(f"--tag {item!r} is not KEY=VALUE", hint="e.g. --tag cost-center=1234")
        tags[key.strip()] = value.strip()
    return tags


def _render_new(result: Any) -> None:
    spec = result.spec
    if sys.stderr.isatty():
        from rich.console import Console

        console = Console(stderr=True, highlight=False)
        colours = {"create": "green", "identical": "dim", "overwrite": "yellow"}
        for action in result.actions:
            console.print(f"  [{colours[action.verb]}]{action.verb:>9}[/] {action.path}")
    else:
        # Plain lines when piped or captured: no colour codes, and no rich import on the hot path.
        for action in result.actions:
            _err(f"  {action.verb:>9} {action.path}")
    for warning in result.warnings:
        _err(f"warning: {warning}")
    for note in result.notes:
        _err(f"note: {note}")
    if result.dry_run:
        _err(f"dry run: {len(result.actions)} files would be written to {result.target}")
        return
    if result.backup is not None:
        _err(f"the overwritten files' previous versions are in {result.backup}")
    _err(f"{spec.name}: {spec.runtime.value} runtime, {spec.location}, {len(result.actions)} files in {result.target}")
    _err(f"next: cd {result.target} && azd up   (or see README.md for az and local runs)")


@app.command()
@handled
def models(
    runtime: Annotated[RuntimeChoice | None, typer.Option("--runtime", "-r", help="Only models it serves.")] = None,
    wide: Annotated[bool, typer.Option("--wide", help="Every column (format, kind, SKUs, max output...).")] = False,
    live: Annotated[bool, typer.Option("--live", help="Also read the region's models from Azure and mark "
                                       "where they disagree with the shipped catalog (needs --location).")] = False,
    location: Annotated[str, typer.Option("--location", "-l", help="Region for --live / --refresh.")] = "",
    subscription: SubscriptionOpt = "",
    refresh: Annotated[bool, typer.Option("--refresh", help="With --live: store the region's list in the user "
                                          "cache; `new` and `check` use it for 7 days.")] = False,
    cloud: Annotated[str, typer.Option(help="With --live: AzureCloud, AzureUSGovernment or AzureChinaCloud.")] = (
        "AzureCloud"),
    arm_endpoint: ArmEndpointOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")] = False,
) -> None:
    """List the model catalog: status on today's date, retirement, tool calling, context window, runtimes."""
    from scaffolder import catalog
    from scaffolder.spec import today

    day = today()
    if live or refresh:
        if wide:
            raise SpecError("--wide is for the shipped catalog's table; --live/--refresh shows the comparison",
                            hint="drop --wide, or run `scaffolder models --wide` without --live")
        _models_live(location, subscription, refresh, cloud, arm_endpoint, as_json, day,
                     catalog.Runtime(runtime.value) if runtime is not None else None)
        return
    rows = list(catalog.models().values())
    if runtime is not None:
        rows = catalog.models_for(catalog.Runtime(runtime.value))
    # Models a new project can use first; retired ones stay listed (existing repos name them) but last.
    rows.sort(key=lambda m: m.status(m.default_version, day).state == "retired")
    if as_json:
        doc = [{**m.model_dump(mode="json"), "status": m.status(m.default_version, day).state} for m in rows]
        print(json.dumps(doc, indent=2))
        return
    header, body = _model_rows(rows, day, wide)
    print(_columns(header, body))
    stale = catalog.staleness_note(day)
    if stale:
        _err(f"note: {stale}")


def _model_rows(rows: list[CatalogModel], day: dt.date, wide: bool) -> tuple[list[str], list[list[str]]]:
    """The table's cells: a narrow set that fits 80 columns, or every column with --wide."""

    def tokens(n: int | None) -> str:
        if not n:
            return "?"
        return f"{n // 1000}k" if n >= 10_000 else str(n)

    def runtimes(m: CatalogModel) -> str:
        return "all" if len(m.runtimes) == 3 else ",".join(r.value for r in m.runtimes)

    body = []
    for m in rows:
        st = m.status(m.default_version, day)
        life = m.lifecycle.get(m.default_version)
        retires = str(life.retires) if life and life.retires else "-"
        tools = {True: "yes", False: "no", None: "?"}[m.tool_calling]
        if wide:
            body.append([m.name, m.format, m.kind, m.default_version, st.state, retires, st.replacement or "-",
                         tools, tokens(m.context_window), tokens(m.max_output_tokens), ", ".join(m.skus),
                         ", ".join(r.value for r in m.runtimes)])
        else:
            body.append([m.name, st.state, retires, tools, tokens(m.context_window), runtimes(m)])
    if wide:
        return ["model", "format", "kind", "version", "status", "retires", "replacement", "tools", "context",
                "max out", "SKUs", "runtimes"], body
    return ["model", "status", "retires", "tools", "context", "runtimes"], body


def _columns(header: list[str], body: list[list[str]]) -> str:
    """Left-aligned columns two spaces apart; cells are never cut (the narrow set is chosen to fit 80)."""
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in [header, *body]]
    return "\n".join(lines)


def _models_live(location: str, subscription: str, refresh: bool, cloud: str, arm_endpoint: str | None,
                 as_json: bool, day: dt.date, runtime: Runtime | None) -> None:
    from scaffolder import catalog
    from scaffolder.catalog import live
    from scaffolder.errors import SpecError
    from scaffolder.provisioning.arm import CLOUDS

    if not location:
        raise SpecError("--live/--refresh needs --location", hint="e.g. scaffolder models --live --location eastus2")
    if cloud not in CLOUDS:
        raise SpecError(f"unknown cloud {cloud!r}; choose one of: {', '.join(CLOUDS)}")
    snapshot = live.fetch(location, subscription, cloud=cloud, arm_endpoint=arm_endpoint)
    saved = live.save(snapshot) if refresh else None
    rows = live.merge(snapshot, day)
    if runtime is not None:  # models the catalog does not know have no known runtime: --runtime hides them
        serving = {m.name for m in catalog.models_for(runtime)}
        rows = [r for r in rows if r.name in serving]
    if as_json:
        doc = {"location": snapshot.location, "fetched": snapshot.fetched.isoformat(),
               "cache": str(saved) if saved else None,
               "models": [{"name": r.name, "version": r.version, "format": r.format, "catalog": r.shipped,
                           "azure": r.live, "agreement": r.agreement, "detail": r.detail} for r in rows]}
        print(json.dumps(doc, indent=2))
        return
    mark = {"both": "", "disagree": "DIFFERS", "shipped only": "catalog only", "live only": "Azure only"}
    body = [[r.name, r.version, r.shipped, r.live, mark[r.agreement]] for r in rows]
    print(_columns(["model", "version", "catalog", "azure", "agreement"], body))
    for r in rows:
        if r.agreement == "disagree":
            _err(f"differs: {r.name} {r.version}: {r.detail}")
    _err(f"{snapshot.location}: {len(snapshot.models)} model versions from Azure on {snapshot.fetched.date()}"
         + (f"; saved to {saved} (used by `new` and `check` for {live.FRESH_DAYS} days)" if saved else ""))


class YesNo(StrEnum):
    """Answer to a yes/no decision question."""

    yes = "yes"
    no = "no"


class NowLaterNo(StrEnum):
    """Answer to the partner-models question."""

    now = "now"
    later = "later"
    no = "no"


@app.command()
@handled
def recommend(
    state: Annotated[YesNo | None, typer.Option(help="Conversations carry state across turns?")] = None,
    tools: Annotated[YesNo | None, typer.Option(help="Built-in service tools (file search, code, MCP)?")] = None,
    partner_models: Annotated[
        NowLaterNo | None, typer.Option(help="Models outside the OpenAI family, or a hedge across providers?")
    ] = None,
    connectors: Annotated[YesNo | None, typer.Option(help="SharePoint, Fabric or Bing grounding?")] = None,
    multi_agent: Annotated[YesNo | None, typer.Option(help="Several agents coordinating?")] = None,
    answers: Annotated[Path | None, typer.Option("--answers", help="Answers file (YAML/JSON mapping).")] = None,
    name: Annotated[str, typer.Option(help="Project name for the suggested command.")] = "NAME",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")] = False,
    no_input: Annotated[bool, typer.Option("--no-input", help="Never prompt; unanswered = not asked.")] = False,
) -> None:
    """Recommend a runtime from five questions: reasons, what you give up, and the command to run."""
    from scaffolder import decision as rec
    from scaffolder.prompts import ConsolePrompter, interactive_allowed

    given = rec.load_answers_file(answers) if answers else {}
    flags = {"state": state, "tools": tools, "models": partner_models, "connectors": connectors,
             "multi_agent": multi_agent}
    given.update({k: v.value for k, v in flags.items() if v is not None})
    prompter = ConsolePrompter() if interactive_allowed(no_input or as_json) else None
    result = rec.ask(prompter, given) if prompter else rec.recommend(given)
    if as_json:
        print(json.dumps({**result.as_dict(), "command": result.command(name)}, indent=2))
        return
    _render_recommendation(result, name)


def _render_recommendation(result: Any, name: str) -> None:
    from scaffolder import catalog

    print(f"Recommended runtime: {result.runtime.value} ({catalog.runtimes()[result.runtime].title})")
    sections = [("Why", result.reasons), ("Answers it does not serve directly", result.trade_offs),
                ("Conflicting needs", result.conflicts), ("What you give up", result.gives_up)]
    for title, items in sections:
        if items:
            print(f"\n{title}:")
            for item in items:
                print(f"  - {item}")
    print(f"\nGenerate it:\n  {result.command(name)}")
    print("  (to record these answers in docs/adr of the repo: save `scaffolder recommend ... --json` to a file "
          "and add --decision FILE)")


@app.command()
@handled
def update(
    directory: Annotated[Path, typer.Argument(help="The generated repo (holds .scaffolder.yml).")] = Path(),
    runtime: Annotated[
        RuntimeChoice | None, typer.Option("--runtime", "-r", help="Switch the app to this runtime.")
    ] = None,
    location: Annotated[str | None, typer.Option("--location", "-l", help="Move to another Azure region.")] = None,
    model: Annotated[
        list[str] | None,
        typer.Option("--model", "-m", help="Replace the model deployments (as for `new`), repeatable."),
    ] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="Add or change a resource tag KEY=VALUE.")] = None,
    standards: Annotated[
        Path | None, typer.Option("--standards", help="Team standards file to apply [default: as for `new`].")
    ] = None,
    decision: Annotated[
        Path | None, typer.Option("--decision", help="Answers of `scaffolder recommend` for the new ADR record.")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the diff; write nothing.")] = False,
    check_only: Annotated[
        bool, typer.Option("--check", help="Exit 0 when up to date, 2 when an update exists; write nothing.")
    ] = False,
    allow_dirty: Annotated[bool, typer.Option("--allow-dirty", help="Update a git tree with uncommitted changes.")] = (
        False
    ),
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")] = False,
    show_diff: Annotated[
        bool, typer.Option("--diff", help="With --check: include the whole diff (stdout, or the JSON's diff).")
    ] = False,
) -> None:
    """Re-apply the generator to a repo (three-way merge, your edits kept): runtime, templates, standards, models.

    Exit 1 on conflicts (written with diff3 markers and listed), 2 with --check when an update exists.
    """
    from scaffolder import _update
    from scaffolder import standards as team
    from scaffolder.decision import load_answers_file

    found = team.discover(standards)
    # Only what the user gave: everything else stays as .scaffolder.yml records it.
    overrides: dict[str, Any] = {
        "runtime": runtime.value if runtime else None,
        "location": location,
        "models": model or None,
        "tags": _parse_tags(tag) if tag else None,
    }
    result = _update.update(
        directory,
        overrides,
        standards=team.load(found) if found else None,
        decision_answers=load_answers_file(decision) if decision else None,
        dry_run=dry_run or check_only,
        allow_dirty=allow_dirty,
    )
    # --check answers "is there an update" with counts and paths; the diff (thousands of lines for a switch)
    # only when asked for.
    with_diff = dry_run or show_diff
    if as_json:
        print(json.dumps(result.as_dict(include_diff=with_diff), indent=2))
    else:
        _render_update(result, check_only, show_diff=with_diff)
    if check_only:
        raise typer.Exit(2 if result.update_available else 0)
    if result.conflicts:
        raise typer.Exit(1)


def _render_update(result: Any, check_only: bool, *, show_diff: bool = False) -> None:
    if result.dry_run and (show_diff or not check_only) and result.diff:
        sys.stdout.write(result.diff)
    for change in result.changes:
        _err(f"  {change.action:>12} {change.path}")
    for note in result.notes:
        _err(f"note: {note}")
    before, after = result.spec_before.runtime.value, result.spec.runtime.value
    switch = f", runtime {before} -> {after}" if before != after else ""
    where = f"{result.directory} (base: {result.base_source}{switch})"
    if check_only:
        _err(f"update available for {where}" if result.update_available else f"up to date: {where}")
        return
    if not result.update_available:
        _err(f"up to date: {where}")
        return
    verb = "would change" if result.dry_run else "changed"
    _err(f"update {verb} {sum(c.action not in ('kept-edited', 'kept-deleted') for c in result.changes)} file(s) "
         f"in {where}")
    if result.conflicts:
        _err(f"error: {len(result.conflicts)} conflict(s): {', '.join(result.conflicts)}")
        _err(f"hint: {_update_hint()}")


def _update_hint() -> str:
    from scaffolder._update import CONFLICT_HINT

    return CONFLICT_HINT


class CloudChoice(StrEnum):
    """CLI choices for --cloud (ARM endpoint and Entra authority)."""

    AzureCloud = "AzureCloud"
    AzureUSGovernment = "AzureUSGovernment"
    AzureChinaCloud = "AzureChinaCloud"


RepoDir = Annotated[Path, typer.Argument(help="Generated repo (holds .scaffolder.yml).")]
SubscriptionOpt = Annotated[
    str, typer.Option("--subscription", "-s", envvar="AZURE_SUBSCRIPTION_ID", help="Azure subscription id.")
]
GroupOpt = Annotated[
    str,
    typer.Option("--resource-group", "-g", envvar="AZURE_RESOURCE_GROUP", help="Resource group (created if missing)."),
]
LocationOpt = Annotated[
    str | None, typer.Option("--location", "-l", envvar="AZURE_LOCATION", help="Region (default: the spec's region).")
]
EnvOpt = Annotated[str, typer.Option("--env", "-e", envvar="AZURE_ENV_NAME", help="azd environment name.")]
CloudOpt = Annotated[CloudChoice, typer.Option(help="Azure cloud: ARM endpoint and sign-in authority.")]
ArmEndpointOpt = Annotated[
    str | None,
    typer.Option(envvar="SCAFFOLDER_ARM_ENDPOINT", help="Custom ARM endpoint URL (sovereign or private cloud)."),
]
TenantOpt = Annotated[str | None, typer.Option("--tenant", help="Entra tenant to sign in to.")]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
PreviewOpt = Annotated[bool, typer.Option("--preview", help="Show the plan; change nothing.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
PurgeOpt = Annotated[bool, typer.Option("--purge", help="Purge the soft-deleted Foundry account (frees its name).")]
PrincipalIdOpt = Annotated[
    str | None,
    typer.Option(envvar="AZURE_PRINCIPAL_ID", help="Object id of the deploying principal (default: signed-in one)."),
]
TimeoutOpt = Annotated[
    float,
    typer.Option(
        "--timeout",
        help="Overall deadline in seconds; a re-run finishes what is left.",
        envvar="SCAFFOLDER_TIMEOUT",
    ),
]
DEFAULT_TIMEOUT = 3600.0  # the same as scaffolder.provisioning.faults.DEFAULT_TIMEOUT (no import at --help time)
PrincipalTypeOpt = Annotated[
    PrincipalChoice | None,
    typer.Option(envvar="AZURE_PRINCIPAL_TYPE", help="Deploying principal kind (default: the spec's)."),
]


def _arm_args(subscription: str, resource_group: str, env: str, cloud: CloudChoice, arm_endpoint: str | None,
              tenant: str | None) -> dict[str, Any]:
    return {"subscription_id": subscription, "resource_group": resource_group, "environment": env,
            "cloud": cloud.value, "arm_endpoint": arm_endpoint, "tenant_id": tenant}


@app.command()
@handled
def provision(
    directory: RepoDir = Path(),
    subscription: SubscriptionOpt = "",
    resource_group: GroupOpt = "",
    location: LocationOpt = None,
    env: EnvOpt = "dev",
    cloud: CloudOpt = CloudChoice.AzureCloud,
    arm_endpoint: ArmEndpointOpt = None,
    tenant: TenantOpt = None,
    restore: Annotated[bool, typer.Option("--restore", help="Restore a soft-deleted account of that name.")] = False,
    purge: PurgeOpt = False,
    principal_id: PrincipalIdOpt = None,
    principal_type: PrincipalTypeOpt = None,
    preview: PreviewOpt = False,
    yes: YesOpt = False,
    as_json: JsonOpt = False,
    standards: Annotated[
        Path | None, typer.Option("--standards", help="Standards file, enforced again before any write.")
    ] = None,
    timeout: TimeoutOpt = DEFAULT_TIMEOUT,
) -> None:
    """Create the repo's Azure resources through the Azure SDK, exactly as its infra/ Bicep declares them."""
    from scaffolder import _render_provision as render
    from scaffolder import standards as team
    from scaffolder.provisioning import api

    found = team.discover(standards)
    args = _arm_args(subscription, resource_group, env, cloud, arm_endpoint, tenant)
    ui = render.ProgressPrinter(render.confirm_prompt(assume_yes=yes, interactive=sys.stdin.isatty() and not as_json))
    with ui:
        result = api.provision(directory, location=location, restore=restore, purge=purge, preview=preview,
                               principal_id=principal_id or None,
                               principal_type=principal_type.value if principal_type else None,
                               confirm=ui.confirm, on_event=ui, standards=team.load(found) if found else None,
                               timeout=timeout, on_wait=ui.waiting, **args)
    if as_json:
        print(json.dumps(result.as_dict(), indent=2))
        return
    render.render_provision(result)


@app.command()
@handled
def preflight(
    directory: RepoDir = Path(),
    subscription: SubscriptionOpt = "",
    resource_group: GroupOpt = "",
    location: LocationOpt = None,
    env: EnvOpt = "dev",
    cloud: CloudOpt = CloudChoice.AzureCloud,
    arm_endpoint: ArmEndpointOpt = None,
    tenant: TenantOpt = None,
    restore: Annotated[bool, typer.Option("--restore", help="Check as if restoring a soft-deleted account.")] = False,
    purge: PurgeOpt = False,
    as_json: JsonOpt = False,
    timeout: TimeoutOpt = DEFAULT_TIMEOUT,
) -> None:
    """Check region, models, quota, soft-deleted names and permissions; read-only."""
    from scaffolder import _render_provision as render
    from scaffolder.provisioning import api

    args = _arm_args(subscription, resource_group, env, cloud, arm_endpoint, tenant)
    result = api.preflight(directory, location=location, restore=restore, purge=purge, timeout=timeout,
                           on_wait=render.waiting, **args)
    if as_json:
        print(json.dumps(result.as_dict(), indent=2))
    else:
        render.render_preflight(result)
    if not result.ok:
        from scaffolder.errors import PreflightError

        raise typer.Exit(PreflightError.exit_code)


@app.command()
@handled
def destroy(
    directory: RepoDir = Path(),
    subscription: SubscriptionOpt = "",
    resource_group: GroupOpt = "",
    location: LocationOpt = None,
    env: EnvOpt = "dev",
    cloud: CloudOpt = CloudChoice.AzureCloud,
    arm_endpoint: ArmEndpointOpt = None,
    tenant: TenantOpt = None,
    purge: PurgeOpt = False,
    principal_id: PrincipalIdOpt = None,
    preview: PreviewOpt = False,
    yes: YesOpt = False,
    as_json: JsonOpt = False,
    timeout: TimeoutOpt = DEFAULT_TIMEOUT,
) -> None:
    """Delete the repo's Azure resources (reverse order); --purge also frees the Foundry account name."""
    from scaffolder import _render_provision as render
    from scaffolder.provisioning import api

    args = _arm_args(subscription, resource_group, env, cloud, arm_endpoint, tenant)
    confirm = render.destroy_prompt(assume_yes=yes, interactive=sys.stdin.isatty() and not as_json)
    result = api.destroy(directory, location=location, purge=purge, preview=preview, confirm=confirm,
                         principal_id=principal_id or None, timeout=timeout, on_wait=render.waiting, **args)
    if as_json:
        print(json.dumps(result.as_dict(), indent=2))
        return
    render.render_destroy(result)


@app.command()
@handled
def check(
    directory: Annotated[Path, typer.Argument(help="The generated repo.")] = Path(),
    standards: Annotated[
        Path | None, typer.Option("--standards", help="Standards file [default: as for `new`].")
    ] = None,
    checkov_venv: Annotated[
        Path | None, typer.Option("--checkov-venv", help="A venv holding checkov [default: found, or skipped].")
    ] = None,
    install_checkov: Annotated[
        bool, typer.Option("--install-checkov", help="Create the checkov venv in the user cache first (pip).")
    ] = False,
    offline: Annotated[bool, typer.Option(help="Skip external tools (checkov, bicep build).")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")] = False,
) -> None:
    """Validate a generated repo for CI: Bicep, security, schema, consistency, standards, model lifecycle."""
    from scaffolder import checks
    from scaffolder import standards as team

    if install_checkov and not offline and checkov_venv is None and checks.locate_checkov() is None:
        from scaffolder.validate import install_checkov_venv

        _err(f"installing checkov into {checks.user_checkov_venv()} ...")
        checkov_venv = install_checkov_venv(checks.user_checkov_venv())
    found = team.discover(standards)
    result = checks.check(directory, standards=team.load(found) if found else None, checkov=checkov_venv,
                          offline_only=offline)
    from scaffolder.redact import scrub

    if as_json:
        print(scrub(json.dumps(result.as_dict(), indent=2)))
    else:

        for finding in result.findings:
            print(scrub(str(finding)))
        for note in result.notes:
            _err(f"note: {note}")
        warned = sum(f.severity == "warning" for f in result.findings)
        verdict = (("ok" + (f" ({warned} warning(s))" if warned else "")) if result.ok
                   else f"{len(result.findings)} finding(s)")
        _err(f"check {verdict}: {', '.join(result.layers)}")
    if not result.ok:
        raise typer.Exit(1)


def main() -> None:
    """Console-script entry point."""
    app(prog_name="scaffolder")
