"""The `scaffolder` command line: parse flags, call the library, render the result; one error handler."""

from __future__ import annotations

import functools
import json
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import click
import typer
from typer.core import TyperArgument, TyperGroup, TyperOption

from scaffolder import __version__
from scaffolder.errors import (
    EXIT_BROKEN_PIPE,
    EXIT_CHECK_FAILED,
    EXIT_CONFLICTS,
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    EXIT_UPDATE_AVAILABLE,
    EXIT_USAGE,
    ScaffolderError,
    SpecError,
)

if TYPE_CHECKING:  # annotations only: the catalog is imported lazily (`--help` stays fast)
    import datetime as dt

    from scaffolder.catalog import CatalogModel, Runtime
    from scaffolder.provisioning.api import ArmOptions


class _Group(TyperGroup):
    """The command group: usage errors as one line plus a hint (exit 2), --debug accepted anywhere."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for command in self.commands.values():
            for param in command.params:
                _humanize(param)

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, windows_expand_args: bool = True, **extra: Any) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        if "--debug" in argv[1:]:
            # `scaffolder new demo --debug` as well as `scaffolder --debug new demo`.
            argv = ["--debug", *(a for a in argv if a != "--debug")]
        try:
            code = super().main(argv, prog_name, complete_var, False, windows_expand_args, **extra)
        except typer.TyperException as exc:  # click's UsageError and kin (typer vendors click)
            if type(exc).__name__ == "NoArgsIsHelpError":  # bare `scaffolder`: the help, not an error line
                print(exc.format_message())
                return EXIT_USAGE if not standalone_mode else sys.exit(EXIT_USAGE)
            message, hint = self._usage_error(exc, argv, prog_name or "scaffolder")
            _err(f"error: {message}")
            if hint:
                _err(f"hint: {hint}")
            code = getattr(exc, "exit_code", EXIT_USAGE)
        except typer.Abort:
            _err("\nstopped by user")
            code = EXIT_INTERRUPTED
        if not standalone_mode:
            return code
        sys.exit(code if isinstance(code, int) else 0)

    def _usage_error(self, exc: Exception, argv: list[str], prog: str) -> tuple[str, str | None]:
        """One line in words (no parser or pydantic wording) and the hint that fixes it."""
        ctx = getattr(exc, "ctx", None)
        name = next((a for a in argv if a in self.commands), None)
        command = ctx.command if ctx is not None else (self.commands.get(name) if name else None)
        path = ctx.command_path if ctx is not None else " ".join([prog, *([name] if name else [])])
        see = f"`{path} --help` lists the arguments and options"
        param = getattr(exc, "param", None)
        option = getattr(exc, "option_name", None)
        if param is None and option and command is not None:
            # "Option '--runtime' requires an argument": click's parser knows the option only by its name.
            param = next((p for p in command.params if option in getattr(p, "opts", ())), None)
        if param is None:
            return exc.format_message() if hasattr(exc, "format_message") else str(exc), see if ctx or name else None
        flag = max(param.opts, key=len) if param.opts else param.name
        choices = _choices(param)
        if type(exc).__name__ == "BadOptionUsage" and "requires an argument" in str(exc):
            if choices:
                return (f"{flag} needs a value: one of {', '.join(choices)}",
                        f"e.g. `{path} ... {flag} {choices[0]}`; {see}")
            return f"{flag} needs a value", f"give it one: `{flag} {param.metavar or 'VALUE'}`; {see}"
        if isinstance(exc, typer.BadParameter):  # public API; the two other classes are matched by name (typer
            # exports neither): tests/test_newcomer.py's bare-scaffolder and needs-a-value tests pin them.
            given = _bad_input(exc)
            if choices and given is not None:
                from scaffolder.catalog import suggest

                typed = str(given)
                close = [c for c in choices if c.lower().startswith(typed.lower())] or suggest(typed, choices, n=1)
                did = f"did you mean {close[0]!r}? " if close else ""
                return (f"{flag} {typed!r} is not a choice; {did}valid choices: {', '.join(choices)}",
                        f"e.g. `{path} ... {flag} {close[0] if close else choices[0]}`")
            low, high = getattr(param, "min", None), getattr(param, "max", None)
            kind_of = _annotation(param)
            if given is not None and kind_of in (int, float) and not _parses(kind_of, given):
                # The type first: 'abc' or '1.5' for a whole number is not "out of range".
                return f"{flag} {str(given)!r} is not {_KIND_WORDS[kind_of]}", see
            if given is not None and (low is not None or high is not None):
                return f"{flag} {str(given)!r} is out of range: {_range_words(low, high)}", see
            if given is not None:
                kind = _KIND_WORDS.get(_annotation(param), "a valid value")
                return f"{flag} {str(given)!r} is not {kind}", see
        return exc.format_message() if hasattr(exc, "format_message") else str(exc), see


# Help metavars in words a user knows (typer would print <str>, <path>, <float>).
_KIND_WORDS = {int: "a whole number", float: "a number", Path: "a path"}


def _parses(kind: type, given: object) -> bool:
    try:
        kind(str(given))
    except ValueError:
        return False
    return True


def _annotation(param: Any) -> Any:
    descriptor = getattr(param, "type_descriptor", None)
    return getattr(descriptor, "annotation", None)


def _choices(param: Any) -> list[str]:
    """The valid values of an enum-typed option (empty for others)."""
    from enum import Enum

    annotation = _annotation(param)
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return [str(c.value) for c in annotation]
    return []


def _bad_input(exc: Exception) -> object | None:
    """The value the user typed, from the pydantic error typer raised it with (None when unknown)."""
    cause = exc.__cause__
    errors = getattr(cause, "errors", None)
    if callable(errors):
        try:
            given: object = errors()[0].get("input")
            return given
        except (IndexError, TypeError, AttributeError):
            return None
    return None


def _range_words(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f"from {low} to {high}"
    return f"at least {low}" if low is not None else f"at most {high}"


def _metavar(param: Any) -> str:
    annotation = _annotation(param)
    name = (param.name or "value").lower()
    if annotation is Path:
        return "DIR" if ("dir" in name or "venv" in name) else "FILE"
    if annotation is float:
        return "SECONDS" if "timeout" in name else "NUMBER"
    if annotation is int:
        return "N"
    return name.upper()


class _Argument(TyperArgument):
    """An argument whose help shows its metavar alone (typer would add "<str>")."""

    def display_type_rich(self, ctx: Any) -> str | None:
        return None


class _Option(TyperOption):
    """An option whose numeric range reads as words ("at least 1"), not click's "x>=1"."""

    def _get_number_range_help_str(self) -> str | None:
        if self.min is None and self.max is None:
            return None
        return _range_words(self.min, self.max)


def _humanize(param: Any) -> None:
    """Metavars people understand (NAME, FILE, DIR, SECONDS, one of a|b) and ranges in words, for --help."""
    if isinstance(param, TyperArgument):
        param.__class__ = _Argument
        if param.metavar is None:
            param.metavar = _metavar(param)
    elif isinstance(param, TyperOption):
        param.__class__ = _Option
        if param.metavar is None and not param.is_flag and not param.count:
            choices = _choices(param)
            param.metavar = "[" + "|".join(choices) + "]" if choices else _metavar(param)


app = typer.Typer(
    name="scaffolder",
    cls=_Group,
    help="Pick a Microsoft Foundry runtime and generate a keyless, least-privilege starter repo.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    # Plain click help: rich markup would eat "[default: ...]" and "[@VERSION]" and print <bool> metavars.
    rich_markup_mode=None,
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


class AgentSetupChoice(StrEnum):
    """CLI choices for --agent-setup (mirrors scaffolder.spec.AgentSetup)."""

    basic = "basic"
    standard = "standard"


class HostingChoice(StrEnum):
    """CLI choices for --hosting (mirrors scaffolder.spec.HOSTING_CHOICES)."""

    container_apps = "container-apps"
    none = "none"


class FrameworkChoice(StrEnum):
    """CLI choices for --framework (mirrors scaffolder.spec.Framework)."""

    openai = "openai"
    langchain = "langchain"


class PrincipalChoice(StrEnum):
    """CLI choices for --principal-type."""

    User = "User"
    ServicePrincipal = "ServicePrincipal"
    Group = "Group"


def _print_json(doc: object) -> None:
    # --json goes to CI logs and files: scrubbed like every message (a provider error or an ARM operation's
    # message may quote a key; provision already leaves secret outputs out, this is the net under it).
    from scaffolder.redact import scrub

    print(scrub(json.dumps(doc, indent=2)))


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
                if exc.detail:
                    _err(exc.detail)
            _err(f"error: {exc.message}")
            if exc.hint:
                _err(f"hint: {exc.hint}")
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            # Ctrl-C at a prompt leaves the cursor after the question: end that line first.
            _err(("\n" if sys.stderr.isatty() else "") + "stopped by user")
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except BrokenPipeError:
            # `scaffolder models | head`: the reader left; stop quietly, as Unix tools do.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise typer.Exit(EXIT_BROKEN_PIPE) from None
        except OSError as exc:
            # The machine said no (permissions, a full disk, a missing path): one line, not a traceback.
            if _state["debug"]:
                _err(traceback.format_exc().rstrip())
            where = f": {exc.filename}" if exc.filename else ""
            _err(f"error: {exc.strerror or exc}{where}")
            raise typer.Exit(EXIT_FAILURE) from None
        except (typer.Exit, typer.Abort, click.ClickException):
            raise  # the command's own exit codes and usage errors
        except Exception as exc:
            # Anything left (a bug, an SDK failure no layer classified): one line; the traceback with --debug.
            if _state["debug"]:
                traceback.print_exc()
            first = (str(exc).strip().splitlines() or [""])[0][:300]
            _err(f"error: unexpected {type(exc).__name__}{': ' + first if first else ''}")
            _err("hint: re-run with --debug for the traceback, and report it if it persists")
            raise typer.Exit(EXIT_FAILURE) from None

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
    name: Annotated[
        str | None,
        typer.Argument(metavar="NAME", help="Project name (lowercase, digits, hyphens), or a path whose last part "
                       "is the name (./apps/my-app)."),
    ] = None,
    project_name: Annotated[
        str | None, typer.Option("--name", metavar="NAME", help="Project name when NAME is a path [default: its "
                                 "last part].")
    ] = None,
    runtime: Annotated[
        RuntimeChoice | None,
        typer.Option("--runtime", "-r", help="Foundry runtime the app is built on [default: asked on a terminal, "
                     "or from --decision or the standards]."),
    ] = None,
    location: Annotated[
        str | None,
        typer.Option("--location", "-l", metavar="REGION", help="Azure region [default: $AZURE_LOCATION or eastus2]."),
    ] = None,
    model: Annotated[
        list[str] | None,
        typer.Option(
            "--model",
            "-m",
            metavar="MODEL",
            help="Model to deploy, repeatable: NAME[@VERSION][,sku=S][,capacity=N][,deployment=D]"
            "[,format=PUBLISHER] (format for models outside the catalog). The first is the one the app calls.",
        ),
    ] = None,
    capacity: Annotated[
        int | None,
        typer.Option(min=1, metavar="N", help="Default capacity (thousands of tokens per minute) for every model."),
    ] = None,
    network: Annotated[NetworkChoice, typer.Option(help="Network posture of the Foundry resource.")] = (
        NetworkChoice.public
    ),
    allow_ip: Annotated[
        list[str] | None,
        typer.Option("--allow-ip", metavar="CIDR", help="Public IPv4 or CIDR let in (ip-restricted), repeatable."),
    ] = None,
    monitoring: Annotated[bool, typer.Option(help="Log Analytics + Application Insights.")] = True,
    hosting: Annotated[
        HostingChoice | None,
        typer.Option(help="Where the app runs in Azure: container-apps (azd up builds and deploys it) or none "
                     "(infra only) [default: the standards' choice, else container-apps]."),
    ] = None,
    principal_type: Annotated[
        PrincipalChoice, typer.Option(help="Deploying principal: User locally, ServicePrincipal in CI.")
    ] = PrincipalChoice.User,
    agent_setup: Annotated[
        AgentSetupChoice,
        typer.Option(help="agents runtime: basic (Microsoft-managed agent storage) or standard (the repo's own Cosmos "
                     "DB, Storage and AI Search through a capability host)."),
    ] = AgentSetupChoice.basic,
    existing: Annotated[
        list[str] | None,
        typer.Option("--existing", metavar="KIND=ID", help="Use an existing resource by ARM id instead of creating "
                     "one, repeatable; kinds: search."),
    ] = None,
    output: Annotated[
        Path, typer.Option("--output", "-o", metavar="DIR", help="Parent directory of the new repo [default: the "
                           "current one].", show_default=False)
    ] = Path(),
    force: Annotated[
        bool, typer.Option("--force", help="Write into a non-empty directory (differing files are overwritten).")
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List what would be written; write nothing.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")] = False,
    no_input: Annotated[bool, typer.Option("--no-input", help="Never prompt; fail listing missing values.")] = False,
    no_git: Annotated[
        bool, typer.Option("--no-git", help="Skip `git init` and the initial commit (done when git is on PATH).")
    ] = False,
    tag: Annotated[
        list[str] | None, typer.Option("--tag", metavar="KEY=VALUE", help="Resource tag, repeatable.")
    ] = None,
    standards: Annotated[
        Path | None,
        typer.Option("--standards", metavar="FILE", help="Team standards file [default: $SCAFFOLDER_STANDARDS, then "
                     "~/.config/foundry-scaffolder/standards.yml]."),
    ] = None,
    trust: Annotated[bool, typer.Option("--trust", help="Run the hooks of the standards' overlays.")] = False,
    decision: Annotated[
        Path | None,
        typer.Option("--decision", metavar="FILE", help="Answers of `scaffolder recommend` (YAML/JSON) for the ADR; "
                     "picks the "
                     "runtime when --runtime is absent."),
    ] = None,
    tool: Annotated[
        list[str] | None,
        typer.Option("--tool", "-t", metavar="NAME[,K=V...]",
                     help="Tool to generate, repeatable, e.g. --tool mcp,url=https://x/mcp,label=docs,approval=never "
                     "(',' separates the pairs). `scaffolder tools` lists them per runtime; function tools are "
                     "always on."),
    ] = None,
    framework: Annotated[
        FrameworkChoice, typer.Option(help="Inference only: the chat loop's library.")
    ] = FrameworkChoice.openai,
) -> None:
    """Generate a starter repo for a Foundry runtime: Bicep, keyless RBAC, app skeleton, CI."""
    from scaffolder import _new
    from scaffolder import standards as team
    from scaffolder.decision import load_answers_file
    from scaffolder.prompts import ConsolePrompter, interactive_allowed

    found = team.discover(standards)
    loaded = team.load(found) if found else None
    prompter = ConsolePrompter() if interactive_allowed(no_input or as_json) else None
    target: Path | None = None
    if name and (name in {".", ".."} or "/" in name or os.sep in name):
        # A path, as `cargo new`, `uv init` and `dotnet new -o` take: its last part names the project.
        target = output / name
        name = project_name or target.resolve().name
    elif project_name:
        name = project_name
    try:
        spec = _new.resolve_spec(
            name=name,
            runtime=runtime.value if runtime else None,
            location=location,
            models=model or [],
            capacity=capacity,
            network=network.value,
            allow_ips=allow_ip or [],
            monitoring=monitoring,
            hosting=hosting.value if hosting else None,
            principal_type=principal_type.value,
            agent_setup=agent_setup.value,
            existing=_parse_existing(existing or []),
            decision_answers=load_answers_file(decision) if decision else None,
            tags=_parse_tags(tag or []),
            standards=loaded,
            prompter=prompter,
            tools=tool or [],
            framework=framework.value,
        )
    except SpecError as exc:
        if project_name and exc.hint:  # the name came from --name: that is what to fix, not a NAME argument
            exc.hint = exc.hint.replace("the NAME argument", "--name")
        raise
    result = _new.new(spec, target or output / spec.name, force=force, dry_run=dry_run, standards=loaded,
                      trust=trust, git=not no_git)
    if as_json:
        _print_json(result.as_dict())
        return
    _render_new(result)


def _parse_existing(items: list[str]) -> dict[str, str]:
    from scaffolder.errors import SpecError
    from scaffolder.spec import EXISTING_TYPES

    found: dict[str, str] = {}
    for item in items:
        kind, sep, value = item.partition("=")
        kind = kind.strip()
        if not sep or kind not in EXISTING_TYPES:
            raise SpecError(
                f"--existing {item!r} is not KIND=ID with a known kind; kinds: {', '.join(EXISTING_TYPES)}",
                hint=f"e.g. --existing search=/subscriptions/<id>/resourceGroups/<group>/providers/"
                f"{EXISTING_TYPES['search']}/<name>",
            )
        if kind in found:
            raise SpecError(f"--existing {kind}=... given twice", hint="give each kind once")
        found[kind] = value.strip()
    return found


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
    if result.git != "not asked":
        _err(f"git: {result.git}")
    for step in next_steps(result.target, hosted=result.spec.hosting == "container-apps"):
        _err(f"next: {step}")


def next_steps(target: Path, *, hosted: bool = False) -> list[str]:
    """What to run after `new`, for the tools this machine has: azd when on PATH, else the built-in provisioner.

    `scaffolder provision` creates the Azure resources only; building and shipping the app's image is azd's
    (`azd deploy`), so a hosted repo without azd is told both.
    """
    import shlex
    import shutil

    where = shlex.quote(str(target))
    if shutil.which("azd"):
        steps = [f"cd {where} && azd up"]
        if hosted:
            steps.append("azd up also builds and deploys the API to Container Apps; `azd deploy` ships code changes")
        return steps
    steps = [f"scaffolder provision {where} -s <subscription id> -g <resource group>   (azd is not on PATH)"]
    if hosted:
        steps.append("then install azd and run `azd deploy` in the repo to build and ship the API's image "
                     "(until then the container app runs a placeholder image)")
    return steps


class CloudChoice(StrEnum):
    """CLI choices for --cloud (ARM endpoint and Entra authority)."""

    AzureCloud = "AzureCloud"
    AzureUSGovernment = "AzureUSGovernment"
    AzureChinaCloud = "AzureChinaCloud"


@app.command()
@handled
def models(
    runtime: Annotated[RuntimeChoice | None, typer.Option("--runtime", "-r", help="Only models it serves.")] = None,
    wide: Annotated[bool, typer.Option("--wide", help="Every column (format, kind, SKUs, max output...).")] = False,
    live: Annotated[bool, typer.Option("--live", help="Also read the region's models from Azure and mark "
                                       "where they disagree with the shipped catalog (needs --location).")] = False,
    location: Annotated[str, typer.Option("--location", "-l", help="Region for --live / --refresh.")] = "",
    subscription: Annotated[
        str, typer.Option("--subscription", "-s", metavar="ID", envvar="AZURE_SUBSCRIPTION_ID", show_default=False,
                          help="With --live / --refresh: Azure subscription id (required there).")
    ] = "",
    refresh: Annotated[bool, typer.Option("--refresh", help="With --live: store the region's list in the user "
                                          "cache; `new` and `check` use it for 7 days.")] = False,
    cloud: Annotated[CloudChoice, typer.Option("--cloud", help="With --live / --refresh: the Azure cloud.")] = (
        CloudChoice.AzureCloud),
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
        _models_live(location, subscription, refresh, cloud.value, arm_endpoint, as_json, day,
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


@app.command("tools")
@handled
def tools_(
    runtime: Annotated[
        RuntimeChoice | None, typer.Option("--runtime", "-r", help="Only this runtime's column, and why not.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")] = False,
) -> None:
    """List the tool catalog: how each runtime offers each tool (native, app, connection or none) and the flag."""
    from scaffolder import catalog
    from scaffolder import tools as tool_catalog

    chosen = catalog.Runtime(runtime.value) if runtime is not None else None
    rows = tool_catalog.listing(chosen)
    if as_json:
        _print_json(rows)
        return
    names = [chosen.value] if chosen else [r.value for r in catalog.Runtime]
    header = ["tool", *names, "preview", "add with"]
    body = []
    for row in rows:
        offered = any(row["runtimes"][n]["offer"] != "none" for n in names)
        # review-15 LOW-9: a flag only where the (chosen) runtimes offer the tool; "-" where it would be refused
        flag = ("always on" if row["always"] else "docs only" if row["docs_only"]
                else row["flag"] if offered else "-")
        body.append([row["name"], *(row["runtimes"][n]["offer"] for n in names), "yes" if row["preview"] else "",
                     flag])
    print(_columns(header, body))
    if chosen is not None:
        why = [(r["name"], r["runtimes"][chosen.value]["why"]) for r in rows if "why" in r["runtimes"][chosen.value]]
        if why:
            print(f"\nNot offered on {chosen.value}:")
            for name, text in why:
                print(f"  {name}: {text}")
        caveats = [(r["name"], r["runtimes"][chosen.value]["caveat"]) for r in rows
                   if "caveat" in r["runtimes"][chosen.value]]
        if caveats:
            print(f"\nLimits on {chosen.value}:")
            for name, text in caveats:
                print(f"  {name}: {text}")
    print("\nnative: the service runs it; app: the generated app implements it; connection: an Agent Service "
          "project connection backs it; none: not offered (`--runtime R` says why)")


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
    connectors: Annotated[YesNo | None, typer.Option(help="SharePoint, Fabric or Azure AI Search?")] = None,
    multi_agent: Annotated[YesNo | None, typer.Option(help="Several agents coordinating?")] = None,
    answers: Annotated[
        Path | None, typer.Option("--answers", metavar="FILE", help="Answers file (YAML/JSON mapping).")
    ] = None,
    name: Annotated[str, typer.Option(
        metavar="NAME", show_default=False, help="Project name for the suggested command [default: the word NAME].")
    ] = "NAME",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")] = False,
    save: Annotated[
        Path | None,
        typer.Option("--save", metavar="FILE", help="Also write the answers and the recommendation (JSON) to FILE, "
                     "for `scaffolder new --decision FILE`."),
    ] = None,
    no_input: Annotated[bool, typer.Option("--no-input", help="Never prompt; unanswered = not asked.")] = False,
    tool: Annotated[
        list[str] | None,
        typer.Option("--tool", "-t", metavar="NAME", help="A tool you want (repeatable): only runtimes that offer "
                     "it are recommended. `scaffolder tools` lists them."),
    ] = None,
) -> None:
    """Recommend a runtime from five questions: reasons, what you give up, and the command to run."""
    from scaffolder import decision as rec
    from scaffolder.prompts import ConsolePrompter, interactive_allowed

    given = rec.load_answers_file(answers) if answers else {}
    flags = {"state": state, "tools": tools, "models": partner_models, "connectors": connectors,
             "multi_agent": multi_agent}
    given.update({k: v.value for k, v in flags.items() if v is not None})
    # Questions go to stderr, so `--json > file` on a terminal still asks them (stdin and stderr decide).
    prompter = ConsolePrompter() if interactive_allowed(no_input) else None
    wanted = list(tool or [])  # whole `--tool` texts: the suggested command keeps their values (review-15 LOW-9)
    result = rec.ask(prompter, given, tools=wanted) if prompter else rec.recommend(given, tools=wanted)
    if prompter is None and not given and not wanted:
        if not no_input:
            # Nothing answered and nobody to ask: a script calling recommend without its answers made a mistake
            # (as `gh` refuses to prompt without a terminal and names the flags); --no-input accepts "not asked".
            raise SpecError("no answers given and no terminal to ask on",
                            hint="pass --state/--tools/--partner-models/--connectors/--multi-agent, --tool or "
                                 "--answers FILE (add --no-input to recommend with every question 'not asked')")
        _err("note: --no-input and no answers: every question is 'not asked'")
    doc = {**result.as_dict(), "command": result.command(name)}
    if save is not None:
        replaced = save.exists()
        _write_new_file(save, json.dumps(doc, indent=2) + "\n")
        _err(f"answers saved to {save}" + (" (it replaced the previous file)" if replaced else "")
             + f": `scaffolder new {name} --decision {save}` uses them")
    if as_json:
        _print_json(doc)
        return
    _render_recommendation(result, name, saved=save)


def _write_new_file(path: Path, text: str) -> None:
    """Write text to path, refusing to replace anything but a file of ours (nothing overwritten silently)."""
    from scaffolder.errors import SpecError

    if path.exists() and not path.is_file():
        raise SpecError(f"--save {path}: not a regular file", hint="name a file to create")
    path.write_text(text, encoding="utf-8")


def _render_recommendation(result: Any, name: str, saved: Path | None = None) -> None:
    import shlex

    from scaffolder import catalog

    print(f"Recommended runtime: {result.runtime.value} ({catalog.runtimes()[result.runtime].title})")
    sections = [("Why", result.reasons), ("Answers it does not serve directly", result.trade_offs),
                ("Conflicting needs", result.conflicts), ("What you give up", result.gives_up)]
    for title, items in sections:
        if items:
            print(f"\n{title}:")
            for item in items:
                print(f"  - {item}")
    if saved is not None:
        print(f"\nGenerate it:\n  scaffolder new {shlex.quote(name)} --decision {shlex.quote(str(saved))}"
              f"{result.tool_args()}")
        return
    # The answers as flags: re-running this asks nothing, and --decision carries them into the repo (its ADR, and
    # a partner model deployed when partner models are wanted now), which --runtime alone does not.
    from scaffolder.decision import NOT_ASKED, decision_data

    flags = [f"{q.flag} {shlex.quote(str(result.answers[q.key]))}" for q in decision_data().questions
             if result.answers.get(q.key, NOT_ASKED) != NOT_ASKED]
    flags += [f"--tool {shlex.quote(result.tool_flags.get(t, t))}" for t in getattr(result, "tools", ())]
    print("\nGenerate it, with these answers recorded (docs/adr) and acted on:")
    print(f"  scaffolder recommend {' '.join([*flags, '--no-input', '--save', 'decision.json'])}")
    # `new --decision` takes the runtime from the answers; the tools (and their values) still need their flags
    print(f"  scaffolder new {shlex.quote(name)} --decision decision.json{result.tool_args()}")
    if result.answers.get("models") != "now":
        print(f"or without the record:\n  {result.command(name)}")
        if result.left_out:
            print(f"  (left out: {', '.join(result.left_out)}: not offered by {result.runtime.value}; see above)")


@app.command()
@handled
def update(
    directory: Annotated[Path, typer.Argument(help="The generated repo (holds .scaffolder.yml).")] = Path(),
    runtime: Annotated[
        RuntimeChoice | None, typer.Option("--runtime", "-r", help="Switch the app to this runtime.")
    ] = None,
    location: Annotated[
        str | None, typer.Option("--location", "-l", metavar="REGION", help="Move to another Azure region.")
    ] = None,
    model: Annotated[
        list[str] | None,
        typer.Option("--model", "-m", help="Replace the model deployments (as for `new`), repeatable."),
    ] = None,
    tag: Annotated[
        list[str] | None, typer.Option("--tag", metavar="KEY=VALUE", help="Add or change a resource tag, repeatable.")
    ] = None,
    hosting: Annotated[
        HostingChoice | None,
        typer.Option("--hosting", help="Switch where the app runs in Azure: container-apps or none (infra only)."),
    ] = None,
    tool: Annotated[
        list[str] | None,
        typer.Option("--tool", "-t", metavar="NAME[,key=value...]",
                     help="Add a tool, or change a recorded tool's options (as for `new`), repeatable."),
    ] = None,
    remove_tool: Annotated[
        list[str] | None, typer.Option("--remove-tool", metavar="NAME[,name=X]",
                                   help="Remove a tool (a specialist agent: agent,name=X), repeatable.")
    ] = None,
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
    """Re-apply the generator (three-way merge, your edits kept): runtime, templates, standards, models, tools.

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
        "hosting": hosting.value if hosting else None,
    }
    result = _update.update(
        directory,
        overrides,
        standards=team.load(found) if found else None,
        decision_answers=load_answers_file(decision) if decision else None,
        dry_run=dry_run or check_only,
        allow_dirty=allow_dirty,
        add_tools=tool or (),
        remove_tools=remove_tool or (),
    )
    # --check answers "is there an update" with counts and paths; the diff (thousands of lines for a switch)
    # only when asked for.
    with_diff = dry_run or show_diff
    if as_json:
        _print_json(result.as_dict(include_diff=with_diff))
    else:
        _render_update(result, check_only, show_diff=with_diff)
    if check_only:
        raise typer.Exit(EXIT_UPDATE_AVAILABLE if result.update_available else 0)
    if result.conflicts:
        raise typer.Exit(EXIT_CONFLICTS)


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


RepoDir = Annotated[
    Path, typer.Argument(metavar="DIR", help="Generated repo (holds .scaffolder.yml) [default: the current directory].",
                         show_default=False)
]
SubscriptionOpt = Annotated[
    str, typer.Option("--subscription", "-s", metavar="ID", envvar="AZURE_SUBSCRIPTION_ID", show_default=False,
                      help="Azure subscription id (required).")
]
GroupOpt = Annotated[
    str,
    typer.Option("--resource-group", "-g", metavar="NAME", envvar="AZURE_RESOURCE_GROUP", show_default=False,
                 help="Resource group, created if missing (required)."),
]
ExistingGroupOpt = Annotated[
    str,
    typer.Option("--resource-group", "-g", metavar="NAME", envvar="AZURE_RESOURCE_GROUP", show_default=False,
                 help="Resource group (required; read, never created)."),
]
LocationOpt = Annotated[
    str | None, typer.Option("--location", "-l", metavar="REGION", envvar="AZURE_LOCATION",
                             help="Region [default: the spec's region].")
]
EnvOpt = Annotated[str, typer.Option("--env", "-e", metavar="NAME", envvar="AZURE_ENV_NAME",
                                     help="azd environment name [default: dev].",
                                     show_default=False)]
CloudOpt = Annotated[CloudChoice, typer.Option(help="Azure cloud: ARM endpoint and sign-in authority.")]
ArmEndpointOpt = Annotated[
    str | None,
    typer.Option(metavar="URL", envvar="SCAFFOLDER_ARM_ENDPOINT",
                 help="Custom ARM endpoint URL (sovereign or private cloud)."),
]
TenantOpt = Annotated[str | None, typer.Option("--tenant", metavar="ID", help="Entra tenant to sign in to.")]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
PreviewOpt = Annotated[bool, typer.Option("--preview", help="Show the plan; change nothing.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
PurgeOpt = Annotated[bool, typer.Option("--purge", help="Purge the soft-deleted Foundry account (frees its name).")]
PrincipalIdOpt = Annotated[
    str | None,
    typer.Option(metavar="ID", envvar="AZURE_PRINCIPAL_ID",
                 help="Object id of the deploying principal [default: the signed-in one]."),
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
    typer.Option(envvar="AZURE_PRINCIPAL_TYPE",
                 help="Deploying principal kind [default: the spec's]."),
]


def _arm_options(subscription: str, resource_group: str, env: str, cloud: CloudChoice, arm_endpoint: str | None,
                 tenant: str | None, **rest: Any) -> ArmOptions:
    """The one frozen ArmOptions of an ARM command (provisioning.api.ArmOptions), built here once."""
    from scaffolder.errors import SpecError
    from scaffolder.provisioning.api import ArmOptions

    # Required, but settable from the environment as azd does: checked here so that missing one is bad input (2).
    needed = (("--subscription/-s (or $AZURE_SUBSCRIPTION_ID)", subscription),
              ("--resource-group/-g (or $AZURE_RESOURCE_GROUP)", resource_group))
    missing = [flag for flag, value in needed if not value]
    if missing:
        raise SpecError(f"missing {' and '.join(missing)}", hint="e.g. -s <subscription id> -g rg-demo")
    return ArmOptions(subscription_id=subscription, resource_group=resource_group, environment=env,
                      cloud=cloud.value, arm_endpoint=arm_endpoint, tenant_id=tenant, **rest)


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
        Path | None,
        typer.Option("--standards", metavar="FILE", help="Standards file, enforced again before any write."),
    ] = None,
    timeout: TimeoutOpt = DEFAULT_TIMEOUT,
) -> None:
    """Create the repo's Azure resources through the Azure SDK, exactly as its infra/ Bicep declares them."""
    from scaffolder import _render_provision as render
    from scaffolder import standards as team
    from scaffolder.provisioning import api

    found = team.discover(standards)
    ui = render.ProgressPrinter(render.confirm_prompt(assume_yes=yes, interactive=sys.stdin.isatty() and not as_json))
    opts = _arm_options(subscription, resource_group, env, cloud, arm_endpoint, tenant, location=location,
                        principal_id=principal_id or None,
                        principal_type=principal_type.value if principal_type else None,
                        timeout=timeout, on_wait=ui.waiting)
    prov = api.Provisioner(directory, opts)
    loaded = team.load(found) if found else None
    from scaffolder.errors import CredentialError

    try:
        with ui:
            if preview:
                result = prov.plan(restore=restore, purge=purge, standards=loaded)
            else:
                result = prov.apply(restore=restore, purge=purge, confirm=ui.confirm, on_event=ui, standards=loaded)
    except CredentialError as exc:
        if not preview:
            raise
        # No credential: the plan can still be shown from the repo alone, clearly marked as not compared.
        from scaffolder.provisioning import offline

        plan = offline.offline_plan(directory, subscription_id=subscription, resource_group=resource_group,
                                    location=location, environment=env, principal_id=principal_id or None,
                                    principal_type=principal_type.value if principal_type else None,
                                    restore=restore)
        if as_json:
            print(json.dumps({**offline.plan_as_dict(plan), "credential": exc.message}, indent=2))
        else:
            from scaffolder._render_provision import render_offline_plan

            render_offline_plan(plan, exc.message)
        return
    if as_json:
        _print_json(result.as_dict())
        return
    render.render_provision(result)


@app.command()
@handled
def preflight(
    directory: RepoDir = Path(),
    subscription: SubscriptionOpt = "",
    resource_group: ExistingGroupOpt = "",
    location: LocationOpt = None,
    env: EnvOpt = "dev",
    cloud: CloudOpt = CloudChoice.AzureCloud,
    arm_endpoint: ArmEndpointOpt = None,
    tenant: TenantOpt = None,
    restore: Annotated[bool, typer.Option("--restore", help="Check as if restoring a soft-deleted account.")] = False,
    purge: Annotated[
        bool, typer.Option("--purge", help="Check as if `provision --purge` follows (a soft-deleted name counts as "
                           "free); purges nothing.")
    ] = False,
    as_json: JsonOpt = False,
    timeout: TimeoutOpt = DEFAULT_TIMEOUT,
) -> None:
    """Check region, models, quota, soft-deleted names and permissions; read-only."""
    from scaffolder import _render_provision as render
    from scaffolder.provisioning import api

    opts = _arm_options(subscription, resource_group, env, cloud, arm_endpoint, tenant, location=location,
                        timeout=timeout, on_wait=render.waiting)
    result = api.Provisioner(directory, opts).preflight(restore=restore, purge=purge)
    if as_json:
        _print_json(result.as_dict())
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
    resource_group: ExistingGroupOpt = "",
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

    opts = _arm_options(subscription, resource_group, env, cloud, arm_endpoint, tenant, location=location,
                        principal_id=principal_id or None, timeout=timeout, on_wait=render.waiting)
    confirm = render.destroy_prompt(assume_yes=yes, interactive=sys.stdin.isatty() and not as_json)
    result = api.Provisioner(directory, opts).destroy(purge=purge, preview=preview, confirm=confirm)
    if as_json:
        _print_json(result.as_dict())
        return
    render.render_destroy(result)


@app.command()
@handled
def check(
    directory: Annotated[
        Path, typer.Argument(metavar="DIR", help="The generated repo [default: the current directory].",
                             show_default=False)
    ] = Path(),
    standards: Annotated[
        Path | None, typer.Option("--standards", metavar="FILE", help="Standards file [default: as for `new`].")
    ] = None,
    checkov_venv: Annotated[
        Path | None,
        typer.Option("--checkov-venv", metavar="DIR", help="A venv holding checkov [default: "
                     "$SCAFFOLDER_CHECKOV_VENV, the user cache's, or skipped]."),
    ] = None,
    install_checkov: Annotated[
        bool, typer.Option("--install-checkov", help="Create the checkov venv in the user cache first (pip).")
    ] = False,
    offline: Annotated[bool, typer.Option("--offline", help="Skip external tools (checkov, bicep build).")] = False,
    strict: Annotated[
        bool,
        typer.Option("--strict", help="Differences from the generator (drift/*) fail too; warnings never do "
                     "[default: standards' check.strict]."),
    ] = False,
    accept: Annotated[
        bool,
        typer.Option("--accept", help="Record today's differences from the generator as intended in "
                     ".scaffolder/accepted.yml (commit it): later checks, --strict too, skip them until either side "
                     "changes. Errors are never accepted."),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")] = False,
) -> None:
    """Validate a repo for CI: errors (deployment, security, standards) fail; differences from the generator inform."""
    from scaffolder import checks
    from scaffolder import standards as team

    if install_checkov and not offline and checkov_venv is None and checks.locate_checkov() is None:
        from scaffolder.validate import install_checkov_venv

        _err(f"installing checkov into {checks.user_checkov_venv()} ...")
        checkov_venv = install_checkov_venv(checks.user_checkov_venv())
    found = team.discover(standards)
    result = checks.check(directory, standards=team.load(found) if found else None, checkov=checkov_venv,
                          offline_only=offline, strict=strict or None,
                          progress=_checkov_progress if sys.stderr.isatty() else None)
    if accept:
        result = checks.accept(result)
    if as_json:
        _print_json(result.as_dict())
    else:
        _render_check(result)
    if not result.ok:
        raise typer.Exit(EXIT_CHECK_FAILED)


def _checkov_progress(file: str, done: int, total: int) -> None:
    # One line rewritten in place on a terminal: checkov takes seconds per file.
    end = "\n" if done == total else ""
    print(f"\rcheckov: {done}/{total} files scanned ({file})\x1b[K", end=end, file=sys.stderr, flush=True)


def _render_check(result: Any) -> None:
    from scaffolder.redact import scrub

    # Under strict, information findings fail too: the heading says why an "info" line stands among the errors.
    errors_title = "errors (strict: differences from the generator fail the check too)" if result.strict else "errors"
    info_title = "information (does not fail the check" + ("" if result.strict else
                                                           "; --strict fails the differences from the generator") + ")"
    for title, findings in ((errors_title, result.errors), (info_title, result.information)):
        if findings:
            print(f"{title}:")
            for finding in findings:
                # Findings quote repo files: scrubbed like every other message (a key pasted into Bicep).
                print(scrub(str(finding)))
    for note in result.notes:
        _err(f"note: {note}")
    warned = sum(f.severity == "warning" for f in result.information)
    counts = f"{len(result.errors)} error(s), {len(result.information)} information" + (
        f" (of which {warned} warning(s))" if warned else "")
    verdict = f"ok ({counts})" if result.ok else f"failed: {counts}" + (" (strict)" if result.strict else "")
    _err(f"check {verdict}: {', '.join(result.layers)}")


def main() -> None:
    """Console-script entry point."""
    app(prog_name="scaffolder")
