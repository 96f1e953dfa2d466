"""Survey, diff and apply a ResourcePlan: reads first, then writes in dependency order, in parallel.

Idempotence comes from diffing against what ARM reports: a resource whose properties already match
the plan gets no request at all, so re-running on unchanged infrastructure sends zero writes, and a
run that stopped half-way (Ctrl-C, a crash, a failed operation) is finished by running it again.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Literal

from scaffolder.errors import CredentialError, ProvisionError
from scaffolder.provisioning.arm import Arm
from scaffolder.provisioning.plan import GuidName, PlannedResource, ResourcePlan, resolve

Action = Literal["create", "update", "unchanged"]

# ARM error codes worth another try after a pause (ARM's own advice for each).
TRANSIENT_CODES = frozenset(
    {
        "RequestConflict",  # another operation on the parent account is running
        "AnotherOperationInProgress",
        "Conflict",
        "TooManyRequests",
        "RetryableError",
        "InternalServerError",
        "ServiceUnavailable",
        "GatewayTimeout",
        "PrincipalNotFound",  # a just-created identity has not reached the directory replica yet
    }
)
IN_PROGRESS = frozenset({"accepted", "creating", "updating", "running", "provisioning", "deleting"})


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries for transient ARM failures: Retry-After when ARM sends one, else exponential backoff."""

    attempts: int = 6
    base_delay: float = 2.0
    max_delay: float = 60.0
    sleep: Callable[[float], None] = time.sleep

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before try number attempt+1."""
        if retry_after is not None:
            return min(retry_after, self.max_delay)
        return min(self.base_delay * float(2**attempt), self.max_delay)


@dataclass(frozen=True)
class ArmFailure:
    """What went wrong in one ARM call: HTTP status, ARM error code and message."""

    status: int | None
    code: str
    message: str
    retry_after: float | None = None

    @property
    def transient(self) -> bool:
        """Whether another try may succeed."""
        if self.code in TRANSIENT_CODES:
            return True
        return self.status is not None and (self.status == 429 or self.status >= 500)


def failure_of(exc: BaseException) -> ArmFailure | None:
    """Classify an SDK exception; None for exceptions that are not about an ARM call."""
    from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ServiceRequestError

    if isinstance(exc, ClientAuthenticationError) and exc.response is None:
        return None  # the credential itself failed: not an ARM answer
    if isinstance(exc, ServiceRequestError):
        return ArmFailure(None, "ConnectionError", str(exc).splitlines()[0] if str(exc) else "connection failed")
    if not isinstance(exc, HttpResponseError):
        return None
    response = exc.response
    status = getattr(response, "status_code", None)
    code, message = "", ""
    err = getattr(exc, "error", None)
    if err is not None and getattr(err, "code", None):
        code, message = str(err.code), str(getattr(err, "message", "") or "")
    if not code and response is not None:
        try:
            doc = json.loads(response.text())
        except (ValueError, TypeError):
            doc = {}
        inner = doc.get("error") if isinstance(doc, dict) else None
        if isinstance(inner, dict):
            code, message = str(inner.get("code", "")), str(inner.get("message", ""))
    if not code:
        code = f"HTTP{status}" if status else type(exc).__name__
    if not message:
        text = str(getattr(exc, "message", "") or exc)
        message = text.splitlines()[0] if text else ""
    retry_after = None
    if response is not None:
        header = getattr(response, "headers", {}).get("Retry-After")
        if header:
            try:
                retry_after = max(0.0, float(header))
            except ValueError:
                retry_after = None
    return ArmFailure(status, code, " ".join(message.split()), retry_after)


def with_retries(call: Callable[[], Any], retry: RetryPolicy, what: str) -> Any:
    """Run an ARM call, retrying transient failures with backoff; a permanent one raises ProvisionError."""
    attempt = 0
    while True:
        try:
            return call()
        except ProvisionError:
            raise
        except Exception as exc:
            failure = failure_of(exc)
            if failure is None:
                if _is_credential_failure(exc):
                    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                    raise CredentialError(
                        f"{what}: the Azure credential failed: {first}",
                        hint="sign in again (`az login` / `azd auth login`) and re-run; finished resources are kept",
                        code="CredentialUnavailable",
                    ) from None
                raise
            if failure.transient and attempt + 1 < retry.attempts:
                retry.sleep(retry.delay(attempt, failure.retry_after))
                attempt += 1
                continue
            raise arm_error(what, failure, attempts=attempt + 1) from None


def _is_credential_failure(exc: BaseException) -> bool:
    from azure.core.exceptions import ClientAuthenticationError

    return isinstance(exc, ClientAuthenticationError) and getattr(exc, "response", None) is None


HINTS = {
    "InsufficientQuota": "lower the model capacity or ask for more quota; `scaffolder preflight` shows what fits",
    "FlagMustBeSetForRestore": "a soft-deleted account holds this name: re-run with --restore to recover it "
    "or --purge to delete it for good",
    "AuthorizationFailed": "the caller needs Contributor and Role Based Access Control Administrator "
    "(or Owner) on the resource group",
    "ResourceGroupNotFound": "the resource group is gone; re-run to create it",
    "InvalidApiVersionParameter": "the endpoint does not offer this API version (sovereign or private cloud?)",
}


def arm_error(what: str, failure: ArmFailure, *, attempts: int = 1) -> ProvisionError:
    """One line naming the resource, the ARM error code and its message, with a hint where one exists."""
    tries = f" after {attempts} tries" if attempts > 1 else ""
    message = f"{what}: {failure.code}{tries}: {failure.message}".rstrip(": ")
    hint = HINTS.get(failure.code, "fix the cause and re-run: finished resources are kept and not rewritten")
    return ProvisionError(message, hint=hint, code=failure.code)


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

    def as_dict(self) -> dict[str, Any]:
        """JSON form (no resource state: it can hold endpoints but never secrets, yet it is noise)."""
        return {
            "key": self.key,
            "type": self.type,
            "name": self.name,
            "action": self.action,
            "differences": list(self.differences),
            "deferred": self.deferred,
        }


@dataclass(frozen=True)
class Event:
    """Progress of one resource while applying."""

    key: str
    kind: Literal["start", "done", "failed"]
    action: Action
    detail: str = ""


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
    if isinstance(desired, str) and isinstance(actual, str) and (last.endswith(("Id", "id")) or last == "location"):
        # ARM ids and region names compare case-insensitively.
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
    states: dict[str, dict[str, Any]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _emit(self, event: Event) -> None:
        if self.on_event is not None:
            self.on_event(event)

    def _label(self, res: PlannedResource, name: str | None) -> str:
        return f"{res.key} ({name})" if name and name not in res.key else res.key

    def _resolved(self, res: PlannedResource) -> tuple[str, dict[str, Any]] | None:
        """Name and body with Refs filled in, or None while a referenced resource does not exist."""
        with self._lock:
            states = dict(self.states)
        try:
            name = resolve(res.name, states) if isinstance(res.name, GuidName) else str(res.name)
            return name, resolve(res.body, states)
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
            waits = f"after {', '.join(missing) or 'its references'}"
            return Change(res.key, res.type, name, "create", (waits,), deferred=True)
        name, body = resolved
        label = self._label(res, name)
        state = with_retries(lambda: self.arm.get(res, name), self.retry, f"reading {label}")
        if state is None and res.type == "Microsoft.Authorization/roleAssignments":
            # The same grant under another name (made by hand or by another tool) counts as done.
            state = with_retries(lambda: self.arm.equivalent_assignment(res, body), self.retry, f"reading {label}")
            if state is not None:
                return Change(res.key, res.type, name, "unchanged", (), state)
        if state is None:
            return Change(res.key, res.type, name, "create")
        if res.adopt_existing:
            return Change(res.key, res.type, name, "unchanged", (), state)
        found = diff(body, state, res.write_only)
        provisioning = _provisioning_state(state)
        if provisioning.lower() != "succeeded":
            # Left behind by an interrupted or failed run: PUT it again to finish or repair it.
            found.append(f"provisioningState={provisioning}")
        return Change(res.key, res.type, name, "update" if found else "unchanged", tuple(found), state)

    def survey(self) -> list[Change]:
        """Read the current state of every planned resource, level by level, in parallel."""
        levels: dict[str, int] = {}
        for res in self.plan.resources:
            levels[res.key] = 1 + max((levels[d] for d in res.depends_on), default=-1)
        changes: dict[str, Change] = {}
        with ThreadPoolExecutor(max_workers=self.max_workers) as pool:
            for level in range(max(levels.values(), default=-1) + 1):
                batch = [r for r in self.plan.resources if levels[r.key] == level]
                for res, change in zip(batch, pool.map(self._inspect, batch), strict=True):
                    changes[res.key] = change
                    if change.state is not None:
                        with self._lock:
                            self.states[res.key] = change.state
        return [changes[k] for k in self.plan.keys]

    def _write(self, res: PlannedResource, change: Change) -> dict[str, Any]:
        if change.deferred:
            # Planned before a resource it references existed: look again now that it does.
            change = self._inspect(res)
            if change.action == "unchanged" and change.state is not None:
                return change.state
        resolved = self._resolved(res)
        assert resolved is not None, f"{res.key}: dependencies applied but references unresolved"
        name, body = resolved
        label = self._label(res, name)
        if change.action == "update" and "properties.restore" in res.write_only:
            # restore applies to creating over a soft-deleted account; an existing one is just updated.
            body = {**body, "properties": {**body["properties"], "restore": False}}

        def put() -> dict[str, Any]:
            try:
                return self.arm.put(res, name, body)
            except Exception as exc:
                failure = failure_of(exc)
                if failure is not None and failure.code == "RoleAssignmentExists":
                    # Same role, principal and scope already granted under another name: nothing to do.
                    return self.arm.equivalent_assignment(res, body) or {"name": name, **body}
                raise

        return dict(with_retries(put, self.retry, f"{'creating' if change.action == 'create' else 'updating'} {label}"))

    def apply(self, changes: list[Change]) -> dict[str, dict[str, Any]]:
        """Write every create/update in dependency order, independent branches in parallel.

        Raises ProvisionError for the first permanent failure after letting running writes finish.
        """
        by_key = {c.key: c for c in changes}
        todo = {c.key for c in changes if c.action != "unchanged"}
        done = {c.key for c in changes if c.action == "unchanged"}
        deps = {r.key: set(r.depends_on) for r in self.plan.resources}
        failures: list[tuple[str, BaseException]] = []
        running: dict[Future[dict[str, Any]], str] = {}
        pool = ThreadPoolExecutor(max_workers=self.max_workers)
        try:
            while todo or running:
                if not failures:
                    for key in [k for k in self.plan.keys if k in todo and deps[k] <= done]:
                        todo.discard(key)
                        res = self.plan.get(key)
                        self._emit(Event(key, "start", by_key[key].action))
                        running[pool.submit(self._write, res, by_key[key])] = key
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
                    done.add(key)
                    self._emit(Event(key, "done", by_key[key].action))
        except KeyboardInterrupt:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
        if failures:
            first = failures[0][1]
            pending = len([c for c in changes if c.key not in done])
            if isinstance(first, ProvisionError):
                first.message += f" ({pending} of {len(changes)} resources not done)"
            raise first
        return dict(self.states)
