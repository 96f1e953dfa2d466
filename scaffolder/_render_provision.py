"""CLI-side rendering for provision/preflight/destroy: rich on a TTY, plain lines otherwise (stderr).

Nothing here prints a token or credential: only resource names, actions, property paths and outputs.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TextIO

from scaffolder.errors import ProvisionError
from scaffolder.provisioning.engine import Change, Event
from scaffolder.provisioning.preflight import PreflightResult

if TYPE_CHECKING:
    from scaffolder.provisioning.api import DestroyResult, ProvisionResult
    from scaffolder.provisioning.plan import ResourcePlan

SYMBOLS = {"create": "+", "update": "~", "unchanged": "="}
COLOURS = {"create": "green", "update": "yellow", "unchanged": "dim"}
STATUS = {"ok": ("ok", "green"), "warn": ("warn", "yellow"), "fail": ("FAIL", "red"), "skip": ("skip", "dim")}
PAST = {"create": "created", "update": "updated", "unchanged": "unchanged"}


def _short_type(resource_type: str) -> str:
    return resource_type.split("/", 1)[1] if "/" in resource_type else resource_type


def _err(text: str, stream: TextIO | None = None) -> None:
    # Check messages quote what ARM and the credential said: scrubbed like the CLI's own messages.
    from scaffolder.redact import scrub

    print(scrub(text), file=stream or sys.stderr)


def plan_lines(changes: list[Change]) -> list[str]:
    """The plan as plain lines: action, type, name, and what differs."""
    lines = []
    for c in changes:
        name = c.name or "(guid of scope, principal and role)"
        diff = f"  ({', '.join(c.differences)})" if c.differences and c.action != "unchanged" else ""
        if c.deferred:
            diff += f"  (after {', '.join(c.after) or 'its references'})"
        lines.append(f"  {SYMBOLS[c.action]} {c.action:<9} {_short_type(c.type):<42} {name}{diff}")
    counts = {a: sum(1 for c in changes if c.action == a) for a in SYMBOLS}
    lines.append(f"plan: {counts['create']} to create, {counts['update']} to update, {counts['unchanged']} unchanged")
    return lines


def render_plan(changes: list[Change]) -> None:
    """Print the plan to stderr (colours on a TTY)."""
    if sys.stderr.isatty():
        from rich.console import Console

        console = Console(stderr=True, highlight=False)
        for line, change in zip(plan_lines(changes), [*changes, None], strict=True):
            colour = COLOURS[change.action] if change else "bold"
            console.print(f"[{colour}]{line}[/]", markup=True, soft_wrap=True)
        return
    for line in plan_lines(changes):
        _err(line)


def render_preflight(result: PreflightResult) -> None:
    """Print each check with its status and fix."""
    for check in result.checks:
        label, _ = STATUS[check.status]
        _err(f"  {label:<4} {check.name:<12} {check.message}")
        if check.fix and check.status in ("fail", "warn"):
            _err(f"       {'':<12} fix: {check.fix}")


def waiting(what: str, seconds: float) -> None:
    """Progress while backing off or polling: what is being waited for and for how long."""
    _err(f"  waiting {seconds:.0f} s: {what}")


def confirm_prompt(*, assume_yes: bool, interactive: bool) -> Callable[[list[Change]], bool]:
    """Show the plan, then ask: yes with --yes, a prompt on a TTY, else a clear refusal."""

    def ask(changes: list[Change]) -> bool:
        render_plan(changes)
        if assume_yes:
            return True
        if not interactive:
            raise ProvisionError(
                "changes need confirmation and there is no terminal to ask on", hint="pass --yes (or --preview)"
            )
        import typer

        return bool(typer.confirm("apply these changes?", default=False, err=True))

    return ask


class ProgressPrinter:
    """Per-resource progress: a rich progress display on a TTY, one plain line per event otherwise.

    Also the confirmation hook: it sees the plan first, so it knows how many writes to expect.
    """

    def __init__(self, confirm: Callable[[list[Change]], bool], *, tty: bool | None = None) -> None:
        self.tty = sys.stderr.isatty() if tty is None else tty
        self._confirm = confirm
        self.total = 0
        self.done = 0
        self._lock = threading.Lock()
        self._progress: Any = None
        self._tasks: dict[str, Any] = {}
        self._overall: Any = None

    def confirm(self, changes: list[Change]) -> bool:
        """Ask, then start the progress display for the writes about to happen."""
        if not self._confirm(changes):
            return False
        self.total = sum(1 for c in changes if c.action != "unchanged")
        self._start()
        return True

    def __enter__(self) -> ProgressPrinter:
        return self

    def _start(self) -> None:
        if self.tty and self.total:
            from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                TimeElapsedColumn(),
                transient=False,
            )
            self._progress.start()
            self._overall = self._progress.add_task("resources", total=self.total)

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def waiting(self, what: str, seconds: float) -> None:
        """Show a backoff or poll wait (inside the progress display on a TTY)."""
        with self._lock:
            if self._progress is not None:
                self._progress.console.print(f"  waiting {seconds:.0f} s: {what}", style="dim", highlight=False)
                return
        waiting(what, seconds)

    def __call__(self, event: Event) -> None:
        with self._lock:
            if self._progress is not None:
                self._rich(event)
                return
            if event.kind == "start":
                return
            if event.kind == "done":
                self.done += 1
                _err(f"  [{self.done}/{self.total}] {PAST[event.action]:<9} {event.key}")
            else:
                _err(f"  failed    {event.key}: {event.detail}")

    def _rich(self, event: Event) -> None:
        progress = self._progress
        if event.kind == "start":
            self._tasks[event.key] = progress.add_task(f"{event.action:<7} {event.key}", total=1)
            return
        task = self._tasks.pop(event.key, None)
        if task is not None:
            word = PAST[event.action] if event.kind == "done" else "[red]failed[/]"
            progress.update(task, completed=1, description=f"{word:<9} {event.key}")
        if event.kind == "done":
            progress.advance(self._overall)


def render_provision(result: ProvisionResult) -> None:
    """Summary after provision: what changed, and where the outputs went."""
    if not result.applied:
        render_plan(result.changes)
        for rid in result.removed:
            *scope, own = rid.split("/providers/")
            # A role assignment (an extension resource) is named with the resource it is granted on.
            on = f" on {scope[-1].rsplit('/', 1)[-1]}" if len(scope) > 1 else ""
            _err(f"  - removed   {own}{on}  (no longer in infra/; kept, delete it by hand)")
        if result.preflight is not None:
            render_preflight(result.preflight)
        _err("preview only: nothing was written")
        return
    changed = result.writes
    t = result.target
    if changed:
        _err(f"provisioned {changed} resource(s) in {t.resource_group} ({t.location}), environment {t.environment}")
    else:
        _err(f"up to date: all resources in {t.resource_group} match the Bicep; nothing was written")
    if result.purged:
        _err("purged the soft-deleted Foundry account first")
    if result.env_file is not None:
        _err(f"outputs written to {result.env_file}")
    shown = result.shown_outputs()
    for key in ("AZURE_OPENAI_ENDPOINT", "AZURE_AI_PROJECT_ENDPOINT", "AZURE_AI_MODEL_DEPLOYMENT", "SERVICE_API_URI"):
        if shown.get(key):
            _err(f"  {key}={shown[key]}")
    if shown.get("SERVICE_API_URI"):
        # provision creates the app but never builds code: that is `azd deploy`'s job (as with `azd provision`)
        image = t.azd_env().get("SERVICE_API_IMAGE_NAME", "")
        if image:
            _err(f"the container app runs {image}; `azd deploy` ships code changes")
        else:
            _err("the container app runs a placeholder image: run `azd deploy` to build and ship the API")


def destroy_prompt(*, assume_yes: bool, interactive: bool) -> Callable[[list[str]], bool]:
    """List what will be deleted, then ask (or not, with --yes)."""

    def ask(labels: list[str]) -> bool:
        for label in labels:
            _err(f"  - delete {label}")
        if assume_yes:
            return True
        if not interactive:
            raise ProvisionError("deleting needs confirmation and there is no terminal to ask on", hint="pass --yes")
        import typer

        return bool(typer.confirm(f"delete these {len(labels)} resources?", default=False, err=True))

    return ask


def render_destroy(result: DestroyResult) -> None:
    """Summary after destroy."""
    if not result.applied:
        for label in result.deleted:
            _err(f"  - would delete {label}")
        _err("preview only: nothing was deleted" if result.deleted else "nothing to delete")
        return
    _err(f"deleted {len(result.deleted)} resource(s)")
    if result.resource_group_deleted:
        _err(f"deleted the emptied resource group {result.target.resource_group}")
    if result.purged:
        _err("purged the soft-deleted Foundry account: its name is free again")
    elif result.deleted:
        _err("the Foundry account is soft-deleted for 48 hours; `scaffolder destroy --purge` frees its name")


def render_offline_plan(plan: ResourcePlan, reason: str) -> None:
    """The plan on stderr, one resource a line and its body indented, under a header saying what it is not."""
    import json

    from scaffolder.provisioning.offline import NOT_COMPARED

    err = sys.stderr
    print(f"note: {reason}", file=err)
    print(f"plan ({NOT_COMPARED}):", file=err)
    for i, r in enumerate(plan.resources, 1):
        print(f"  {i:>2}. {r.type}@{r.api_version}  {r.name}", file=err)
        body = json.dumps(r.body, indent=2, sort_keys=True, default=str)
        print("\n".join("        " + line for line in body.splitlines()), file=err)
    print("preview only: nothing was read or written in Azure", file=err)
