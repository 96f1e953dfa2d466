"""The `scaffolder` command line: parse flags, call the library, render the result; one error handler."""

from __future__ import annotations

import functools
import json
import sys
import traceback
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from scaffolder import __version__
from scaffolder.errors import ScaffolderError

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
    print(text, file=sys.stderr)


def handled(func: F) -> F:
    """The one error handler: a ScaffolderError becomes one line, a hint and its exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ScaffolderError as exc:
            if _state["debug"]:
                traceback.print_exc()
            _err(f"error: {exc.message}")
            if exc.hint:
                _err(f"hint: {exc.hint}")
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            _err("stopped by user; nothing was written")
            raise typer.Exit(130) from None

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
            help="Model to deploy, repeatable: NAME[@VERSION][,sku=S][,capacity=N][,deployment=D]. "
            "The first is the one the app calls.",
        ),
    ] = None,
    capacity: Annotated[
        int | None, typer.Option(help="Default capacity (thousands of tokens per minute) for every model.")
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
) -> None:
    """Generate a starter repo for a Foundry runtime: Bicep, keyless RBAC, app skeleton, CI."""
    from scaffolder import _new
    from scaffolder.prompts import ConsolePrompter, interactive_allowed

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
        prompter=prompter,
    )
    result = _new.new(spec, output / spec.name, force=force, dry_run=dry_run)
    if as_json:
        print(json.dumps(result.as_dict(), indent=2))
        return
    _render_new(result)


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
    if result.dry_run:
        _err(f"dry run: {len(result.actions)} files would be written to {result.target}")
        return
    _err(f"{spec.name}: {spec.runtime.value} runtime, {spec.location}, {len(result.actions)} files in {result.target}")
    _err(f"next: cd {result.target} && azd up   (or see README.md for az and local runs)")


@app.command()
@handled
def models(
    runtime: Annotated[RuntimeChoice | None, typer.Option("--runtime", "-r", help="Only models it serves.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")] = False,
) -> None:
    """List the model catalog: format, default version, SKUs and the runtimes that serve each model."""
    from scaffolder import catalog

    rows = list(catalog.models().values())
    if runtime is not None:
        rows = catalog.models_for(catalog.Runtime(runtime.value))
    if as_json:
        print(json.dumps([m.model_dump(mode="json") for m in rows], indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("model", "format", "kind", "version", "SKUs", "runtimes", box=None, pad_edge=False)
    for m in rows:
        table.add_row(m.name, m.format, m.kind, m.default_version, ", ".join(m.skus), ", ".join(m.runtimes))
    console = Console()
    # Piped output keeps whole names (no ellipsis) so that grep and scripts see every value.
    Console(width=None if console.is_terminal else 200).print(table)


def main() -> None:
    """Console-script entry point."""
    app(prog_name="scaffolder")
