"""Survey, diff and apply a ResourcePlan: reads first, then writes in dependency order, in parallel.

Idempotence comes from diffing against what ARM reports: a resource whose properties already match
the plan gets no request at all, so re-running on unchanged infrastructure sends zero writes, and a
run that stopped half-way (Ctrl-C, a crash, a failed operation, the deadline) is finished by running it
again. Workers are daemon threads: a first Ctrl-C returns at once instead of waiting for a poller.
"""

from __future__ import annotations

import functools
import hashlib
import json
import queue
import re
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from typing import Any, Literal

from scaffolder.catalog import normalize_region
from scaffolder.errors import ProvisionError
from scaffolder.provisioning.arm import Arm
from scaffolder.provisioning.faults import (
    ArmFailure,
    Control,
    RetryPolicy,
    arm_error,
    failure_of,
    with_retries,
)
from scaffolder.provisioning.plan import PlannedResource, ResourcePlan, read_label, runtime_reads

__all__ = ["ArmFailure", "Change", "Engine", "Event", "RetryPolicy", "arm_error", "failure_of", "with_retries"]

Action = Literal["create", "update", "unchanged"]
IN_PROGRESS = frozenset({"accepted", "creating", "updating", "running", "provisioning", "deleting"})


class Workers:
    """A small pool of daemon threads (concurrent.futures joins its threads at exit, so Ctrl-C would hang).

    As a context manager: Ctrl-C inside the block sets `control.cancelled` (workers see it at their next wait and
    stop; nobody joins them), and idle workers end when it is left.
    """

    def __init__(self, size: int, control: Control | None = None) -> None:
        self.control = control
        self._jobs: queue.SimpleQueue[tuple[Future[Any], Callable[[], Any]] | None] = queue.SimpleQueue()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(size)]
        for thread in self._threads:
            thread.start()

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            future, fn = job
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn())
            except BaseException as exc:  # handed to the caller through the future
                future.set_exception(exc)

    def submit(self, fn: Callable[[], Any]) -> Future[Any]:
        """Run fn on a worker."""
        future: Future[Any] = Future()
        self._jobs.put((future, fn))
        return future

    def map(self, fn: Callable[[Any], Any], items: list[Any]) -> list[Any]:
        """Fn over items in parallel, results in order (the first failure raised)."""
        futures = [self.submit(functools.partial(fn, item)) for item in items]
        return [f.result() for f in futures]

    def close(self) -> None:
        """Let idle workers end (running ones finish on their own; they are daemons)."""
        for _ in self._threads:
            self._jobs.put(None)

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if kind is not None and issubclass(kind, KeyboardInterrupt) and self.control is not None:
            self.control.cancelled.set()
        self.close()


@dataclass
class Change:
    """What applying the plan does to one resource."""

    key: str
    type: str
    name: str | None
    action: Action
    differences: tuple[str, ...] = ()
    state: dict[str, Any] | None = None
    # Not read yet: a resource it needs does not exist, so it is looked at again right before writing.
    deferred: bool = False
    # Keys of the resources a deferred change waits for (dependency notes, apart from property differences).
    after: tuple[str, ...] = ()
    # The ARM id once applied (names known only at run time are resolved by then).
    id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON form (no resource state: it can hold endpoints but never secrets, yet it is noise)."""
        fields = ("key", "type", "name", "id", "action", "differences", "after", "deferred")
        return {f: list(v) if isinstance(v := getattr(self, f), tuple) else v for f in fields}


@dataclass(frozen=True)
class Event:
    """Progress of one resource while applying."""

    key: str
    kind: Literal["start", "done", "failed"]
    action: Action
    detail: str = ""


# An enum-like token ('Standard_LRS', 'Hot', 'TLS1_2'): ARM's resource providers match these case-insensitively
# and answer them in canonical casing.
_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9_.-]*")


def body_digest(body: Any) -> str:
    """A stable digest of a request body."""
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def diff(desired: Any, actual: Any, write_only: tuple[str, ...] = (), path: str = "") -> list[str]:
    """Property paths where the actual ARM JSON differs from the desired body (server extras ignored)."""
    if path in write_only:
        return []
    if isinstance(desired, Mapping):
        if not isinstance(actual, Mapping):
            return [path or "."]
        if path.endswith("tags") or path == "tags":
            return [] if dict(desired) == dict(actual) else [path]
        out: list[str] = []
        for key, value in desired.items():
            sub = f"{path}.{key}" if path else key
            if key not in actual:
                if sub not in write_only:
                    out.append(sub)
                continue
            out.extend(diff(value, actual[key], write_only, sub))
        return out
    if isinstance(desired, list):
        if not isinstance(actual, list) or len(actual) != len(desired):
            return [path]
        return [
            p
            for i, (d, a) in enumerate(zip(desired, actual, strict=True))
            for p in diff(d, a, write_only, f"{path}[{i}]")
        ]
    last = path.rsplit(".", 1)[-1]
    if isinstance(desired, str) and isinstance(actual, str):
        if last == "location":
            # ARM answers regions in canonical form: 'East US 2' is 'eastus2'.
            return [] if normalize_region(desired) == normalize_region(actual) else [path]
        if last.endswith(("Id", "id")) or (_TOKEN.fullmatch(desired) and _TOKEN.fullmatch(actual)):
            # Ids and enum-like tokens (sku names, tiers, kinds) compare case-insensitively, as ARM does.
            return [] if desired.lower() == actual.lower() else [path]
    return [] if desired == actual and type(desired) is type(actual) else [path]


def _provisioning_state(state: Mapping[str, Any] | None) -> str:
    props = (state or {}).get("properties") or {}
    return str(props.get("provisioningState") or "Succeeded") if isinstance(props, Mapping) else "Succeeded"


@dataclass
class Engine:
    """Reads, diffs and writes one plan through one Arm connection."""

    plan: ResourcePlan
    arm: Arm
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    on_event: Callable[[Event], None] | None = None
    max_workers: int = 8
    control: Control = field(default_factory=Control)
    states: dict[str, dict[str, Any]] = field(default_factory=dict)
    created: set[str] = field(default_factory=set)
    # States read before planning (the resource group), used by the survey instead of a second GET.
    prefetched: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    _written_ids: dict[str, str] = field(default_factory=dict)
    # Per resource id (lower case): digest of the body last sent and the paths ARM answered differently.
    # Loaded from and saved to .azure/<env>/ by the caller, like azd's deployment-state cache.
    sent: dict[str, dict[str, Any]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _emit(self, event: Event) -> None:
        if self.on_event is not None:
            self.on_event(event)

    def _label(self, res: PlannedResource, name: str | None) -> str:
        return f"{res.key} ({name})" if name and name not in res.key else res.key

    def _resolved(self, res: PlannedResource) -> tuple[str, dict[str, Any]] | None:
        """Name and body with runtime values filled in, or None while a referenced resource does not exist."""
        with self._lock:
            states = dict(self.states)
        try:
            return str(self.plan.resolve(res.name, states)), self.plan.resolve(res.body, states)
        except KeyError:
            return None

    def _inspect(self, res: PlannedResource) -> Change:
        """GET the resource and diff it (no writes)."""
        with self._lock:
            missing = [d for d in res.depends_on if d not in self.states]
        resolved = None if missing else self._resolved(res)
        if resolved is None:
            # A parent, scope or referenced resource does not exist yet: nothing to read until it does.
            name = res.name if isinstance(res.name, str) else None
            return Change(res.key, res.type, name, "create", (), deferred=True, after=tuple(sorted(missing)))
        name, body = resolved
        label = self._label(res, name)
        if res.key in self.prefetched:
            state = self.prefetched.pop(res.key)
        else:
            state = with_retries(lambda: self.arm.get(res, name), self.retry, f"reading {label}", self.control)
        if state is None and res.type == "Microsoft.Authorization/roleAssignments":
            # The same grant under another name (made by hand or by another tool) counts as done.
            state = with_retries(
                lambda: self.arm.equivalent_assignment(res, body), self.retry, f"reading {label}", self.control
            )
            if state is not None:
                return Change(res.key, res.type, name, "unchanged", (), state)
        if res.read_only:
            if state is None:
                raise ProvisionError(
                    f"{res.where or res.key}: the `existing` resource {res.id_for(name)} does not exist",
                    hint="create it first, or point the Bicep at one that exists",
                    code="ResourceNotFound",
                )
            return Change(res.key, res.type, name, "unchanged", (), state)
        if state is None:
            return Change(res.key, res.type, name, "create")
        if res.adopt_existing:
            return Change(res.key, res.type, name, "unchanged", (), state)
        found = diff(body, state, res.write_only)
        last = self.sent.get(res.id_for(name).lower())
        if found and last is not None and last.get("body") == body_digest(body):
            # The same body as last time: differences ARM itself introduced then are not changes.
            normalised = set(last.get("normalised") or ())
            found = [p for p in found if p not in normalised]
        provisioning = _provisioning_state(state)
        if provisioning.lower() != "succeeded":
            # Left behind by an interrupted or failed run: PUT it again to finish or repair it.
            found.append(f"provisioningState={provisioning}")
        return Change(res.key, res.type, name, "update" if found else "unchanged", tuple(found), state)

    def survey(self) -> list[Change]:
        """Read the current state of every planned resource, level by level, in parallel."""
        levels = self.plan.levels()
        changes: dict[str, Change] = {}
        with Workers(self.max_workers, self.control) as pool:
            for level in sorted(set(levels.values())):
                batch = [r for r in self.plan.resources if levels[r.key] == level]
                for res, change in zip(batch, pool.map(self._inspect, batch), strict=True):
                    changes[res.key] = change
                    if change.state is not None:
                        with self._lock:
                            self.states[res.key] = change.state
        return [changes[k] for k in self.plan.keys]

    def _write(self, res: PlannedResource, change: Change) -> dict[str, Any]:
        if change.deferred and not (res.parent_key and res.parent_key in self.created):
            # Planned before a resource it references existed: look again now that it does. (Nothing can
            # exist under a parent this run has just created, so then there is nothing to look at.)
            change = self._inspect(res)
            if change.action == "unchanged" and change.state is not None:
                return change.state
        resolved = self._resolved(res)
        if resolved is None:
            raise self._unresolved(res)
        name, body = resolved
        rid = res.id_for(name).lower()
        with self._lock:
            other = self._written_ids.setdefault(rid, res.key)
        if other != res.key:
            # Names known only at run time turned out equal: ARM would reject the template as a duplicate.
            raise ProvisionError(
                f"{res.where or res.key}: {res.id_for(name)} is also declared as {other}",
                hint="give each resource its own name",
                code="InvalidTemplate",
            )
        label = self._label(res, name)
        if change.action == "update" and "properties.restore" in res.write_only:
            # restore applies to creating over a soft-deleted account; an existing one is just updated.
            body = {**body, "properties": {**body["properties"], "restore": False}}

        tries = 0

        def put() -> dict[str, Any]:
            nonlocal tries
            tries += 1
            if tries > 1:
                # The last try may have reached ARM although its answer was lost: look before writing again.
                done = self._already_written(res, name, body)
                if done is not None:
                    return done
            try:
                return self.arm.put(res, name, body)
            except Exception as exc:
                failure = failure_of(exc)
                if failure is not None and failure.code == "RoleAssignmentExists":
                    # Same role, principal and scope already granted under another name: nothing to do.
                    return self.arm.equivalent_assignment(res, body) or {"name": name, **body}
                raise

        verb = "creating" if change.action == "create" else "updating"
        state = dict(with_retries(put, self.retry, f"{verb} {label}", self.control))
        # What ARM normalised or left out of its answer (write-only values, canonical casing, defaults):
        # a re-run that would send the same body again skips these paths instead of writing for ever.
        with self._lock:
            self.sent[rid] = {"body": body_digest(body), "normalised": diff(body, state, res.write_only)}
        return state

    def _unresolved(self, res: PlannedResource) -> ProvisionError:
        """Every resource res reads exists, yet a value it reads is absent: name the read, as ARM would."""
        with self._lock:
            states = dict(self.states)
        shown = "a property"
        for read in runtime_reads(res.name, res.body):
            try:
                self.plan.resolve(read, states)
            except KeyError:
                shown = read_label(read, self.plan.key_of)
                break
        return ProvisionError(
            f"{res.where or res.key}: {res.key} reads {shown}, which ARM did not return",
            hint="fix the property name in the Bicep; then re-run: what was written is kept and not written again",
            code="InvalidTemplate",
        )

    def _already_written(self, res: PlannedResource, name: str, body: Mapping[str, Any]) -> dict[str, Any] | None:
        """The resource as ARM has it when an earlier try already wrote this body (waiting while it settles)."""
        current = self.arm.get(res, name)
        while current is not None and not diff(body, current, res.write_only):
            state = _provisioning_state(current).lower()
            if state == "succeeded":
                return current
            if state not in IN_PROGRESS:
                return None  # failed or cancelled: write it again
            self.control.wait(self.arm.conn.polling_interval, f"waiting for {res.key}")
            current = self.arm.get(res, name)
        return None

    def apply(self, changes: list[Change]) -> dict[str, dict[str, Any]]:
        """Write every create/update in dependency order, independent branches in parallel.

        Raises ProvisionError for the first permanent failure after letting running writes finish.
        """
        by_key = {c.key: c for c in changes}
        todo = {c.key for c in changes if c.action != "unchanged"}
        done = {c.key for c in changes if c.action == "unchanged"}
        deps = {r.key: set(r.depends_on) for r in self.plan.resources}
        failures: list[tuple[str, BaseException]] = []
        running: dict[Future[Any], str] = {}
        with Workers(self.max_workers, self.control) as pool:
            while todo or running:
                if not failures:
                    for key in [k for k in self.plan.keys if k in todo and deps[k] <= done]:
                        todo.discard(key)
                        res = self.plan.get(key)
                        self._emit(Event(key, "start", by_key[key].action))
                        running[pool.submit(functools.partial(self._write, res, by_key[key]))] = key
                if not running:
                    break
                finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
                for fut in finished:
                    key = running.pop(fut)
                    try:
                        state = fut.result()
                    except Exception as exc:
                        failures.append((key, exc))
                        self._emit(Event(key, "failed", by_key[key].action, str(exc)))
                        continue
                    with self._lock:
                        self.states[key] = state
                        if by_key[key].action == "create":
                            self.created.add(key)
                    done.add(key)
                    self._emit(Event(key, "done", by_key[key].action))
        if failures:
            first = failures[0][1]
            pending = len([c for c in changes if c.key not in done])
            if isinstance(first, ProvisionError):
                first.message += f" ({pending} of {len(changes)} resources not done)"
            raise first
        return dict(self.states)
