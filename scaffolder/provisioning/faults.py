"""ARM faults: classify every SDK failure, retry the transient ones within bounds, honour Ctrl-C and a deadline.

Every failure of an ARM call ends as a ScaffolderError: a dropped connection or a malformed body is
transient (retried with backoff, then reported with the count), an ARM error is reported with its code,
a failing credential is a CredentialError. Waits (backoff, long-running-operation polls) go through one
`Control`, which caps Retry-After, reports the wait as progress, and stops at once when the user presses
Ctrl-C or the overall deadline passes.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from scaffolder.errors import CredentialError, ProvisionError, ProvisionInterrupted

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
        "ConnectionError",  # the connection dropped (reset, refused, timed out): ARM calls are idempotent
        "MalformedResponse",  # a body that is not JSON: a proxy or a truncated answer
    }
)
DEFAULT_TIMEOUT = 3600.0  # seconds; the longest model deployments take minutes, a stuck operation forever
MAX_WAIT = 60.0  # no single backoff or poll waits longer, whatever Retry-After says


class MalformedResponse(Exception):
    """ARM answered with a body that is not JSON."""

    def __init__(self, status: int | None, text: str) -> None:
        super().__init__(f"HTTP {status} with a body that is not JSON ({len(text)} bytes)")
        self.status = status


@dataclass
class Control:
    """Shared by every call of one run: the deadline, the Ctrl-C flag and the wait reporter."""

    timeout: float | None = None
    max_wait: float = MAX_WAIT
    # Told about every backoff (what, seconds) so the user sees progress; routine polls stay quiet.
    on_wait: Callable[[str, float], None] | None = None
    clock: Callable[[], float] = time.monotonic
    cancelled: threading.Event = field(default_factory=threading.Event)
    started: float = field(default=0.0)

    def __post_init__(self) -> None:
        self.started = self.clock()

    @property
    def remaining(self) -> float | None:
        """Seconds left before the deadline (None: no deadline)."""
        return None if self.timeout is None else self.timeout - (self.clock() - self.started)

    def check(self, what: str) -> None:
        """Raise when the user stopped the run or the deadline passed."""
        if self.cancelled.is_set():
            raise ProvisionInterrupted(f"stopped by user while {what}")
        left = self.remaining
        if left is not None and left <= 0:
            raise ProvisionError(
                f"deadline of {self.timeout:g} s passed while {what}",
                hint="re-run the same command (with a larger --timeout) to finish: finished resources are kept",
                code="DeadlineExceeded",
            )

    def wait(self, seconds: float, what: str) -> None:
        """Sleep up to max_wait (Retry-After capped), waking at once on Ctrl-C; never past the deadline."""
        self.check(what)
        delay = max(0.0, min(seconds, self.max_wait))
        left = self.remaining
        if left is not None:
            delay = min(delay, max(left, 0.0))
        if delay > 0:
            self.cancelled.wait(delay)
        self.check(what)

    def result(self, poller: Any) -> Any:
        """An LRO poller's result, waited for in short slices so Ctrl-C and the deadline stay prompt."""
        while not poller.done():
            self.check("waiting for a long-running operation")
            poller.wait(0.2)
        return poller.result()


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries for transient ARM failures: Retry-After when ARM sends one, else exponential backoff.

    `sleep` replaces the Control's interruptible wait (tests record the delays instead of sleeping).
    """

    attempts: int = 6
    base_delay: float = 2.0
    max_delay: float = MAX_WAIT
    sleep: Callable[[float], None] | None = None

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before try number attempt+1 (Retry-After capped at max_delay)."""
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


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def failure_of(exc: BaseException) -> ArmFailure | None:
    """Classify an SDK exception; None for exceptions that are not about an ARM call."""
    from azure.core.exceptions import (
        AzureError,
        ClientAuthenticationError,
        DecodeError,
        HttpResponseError,
        ServiceRequestError,
        ServiceResponseError,
    )

    if isinstance(exc, MalformedResponse):
        return ArmFailure(exc.status, "MalformedResponse", str(exc))
    if isinstance(exc, ClientAuthenticationError) and exc.response is None:
        return None  # the credential itself failed: not an ARM answer
    if isinstance(exc, (ServiceRequestError, ServiceResponseError)):
        return ArmFailure(None, "ConnectionError", _first_line(exc))
    if isinstance(exc, (DecodeError, json.JSONDecodeError)) or type(exc).__name__ == "DeserializationError":
        status = getattr(getattr(exc, "response", None), "status_code", None)
        return ArmFailure(status, "MalformedResponse", f"the answer (HTTP {status}) is not JSON")
    if not isinstance(exc, HttpResponseError):
        if isinstance(exc, AzureError):
            return ArmFailure(None, type(exc).__name__, _first_line(exc))
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


def _is_credential_failure(exc: BaseException) -> bool:
    from azure.core.exceptions import ClientAuthenticationError

    if isinstance(exc, ClientAuthenticationError) and getattr(exc, "response", None) is None:
        return True
    return type(exc).__name__ == "CredentialUnavailableError"


def with_retries(call: Callable[[], Any], retry: RetryPolicy, what: str, control: Control | None = None) -> Any:
    """Run an ARM call, retrying transient failures with backoff; anything else raises a ScaffolderError."""
    from scaffolder.errors import ScaffolderError

    control = control or Control()
    attempt = 0
    while True:
        control.check(what)
        try:
            return call()
        except ScaffolderError:
            raise
        except Exception as exc:
            failure = failure_of(exc)
            if failure is None:
                if _is_credential_failure(exc):
                    raise CredentialError(
                        f"{what}: the Azure credential failed: {_first_line(exc)}",
                        hint="sign in again (`az login` / `azd auth login`) and re-run; finished resources are kept",
                        code="CredentialUnavailable",
                    ) from None
                raise
            if failure.transient and attempt + 1 < retry.attempts:
                delay = retry.delay(attempt, failure.retry_after)
                if control.on_wait is not None:
                    control.on_wait(f"{what} (try {attempt + 2} of {retry.attempts} after {failure.code})", delay)
                if retry.sleep is not None:
                    retry.sleep(delay)
                else:
                    control.wait(delay, what)
                attempt += 1
                continue
            raise arm_error(what, failure, attempts=attempt + 1) from None


HINTS = {
    "InsufficientQuota": "lower the model capacity or ask for more quota; `scaffolder preflight` shows what fits",
    "FlagMustBeSetForRestore": "a soft-deleted account holds this name: re-run with --restore to recover it "
    "or --purge to delete it for good",
    "AuthorizationFailed": "the caller needs Contributor and Role Based Access Control Administrator "
    "(or Owner) on the resource group",
    "ResourceGroupNotFound": "the resource group is gone; re-run to create it",
    "InvalidApiVersionParameter": "the endpoint does not offer this API version (sovereign or private cloud?)",
    "ConnectionError": "check the network (proxy, VPN, --arm-endpoint) and re-run: finished resources are kept",
}


def arm_error(what: str, failure: ArmFailure, *, attempts: int = 1) -> ProvisionError:
    """One line naming the resource, the ARM error code and its message, with a hint where one exists."""
    tries = f" after {attempts} tries" if attempts > 1 else ""
    message = f"{what}: {failure.code}{tries}: {failure.message}".rstrip(": ")
    hint = HINTS.get(failure.code, "fix the cause and re-run: finished resources are kept and not rewritten")
    return ProvisionError(message, hint=hint, code=failure.code)
