"""The app's errors: each carries one line a user can act on; the CLI and the API show only that line."""

from __future__ import annotations

import math
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from {{ cookiecutter.package }}.settings import Settings

# The longest Retry-After (seconds) the app passes on: a service asking for longer gets this, so a client is never
# told to wait a day, and a huge or malformed value can never become inf or overflow an int.
MAX_RETRY_AFTER = 300
# The data role the deploying principal gets in infra/ (README, "Roles granted"); Reader and the trace
# reader grant no data access, so they are not what a 403 from the service is missing.
ROLE = "{% for g in cookiecutter.grants if g.principal == 'developer' and g.scope in ('account', 'project') and g.role_id != 'acdd72a7-3385-48ef-bd42-f606fba81ae7' %}{{ g.role }}{% if not loop.last %}, {% endif %}{% endfor %}"


class AppError(Exception):
    """An error the user can act on; str(error) is the whole message."""


class SettingsError(AppError):
    """A required setting is missing or invalid."""


class ServiceError(AppError):
    """The service refused or could not be reached; `status` is the HTTP status when there was one."""

    def __init__(self, message: str, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class ContentFilterError(ServiceError):
    """The service's content filter blocked the message or stopped the reply; nothing of it was kept."""

    def __init__(self, message: str) -> None:
        super().__init__(message, status=400)


class ConversationGoneError(ServiceError):
    """The service no longer holds the conversation (stored responses expire); the app has reset it."""

    def __init__(self, message: str) -> None:
        super().__init__(message, status=404)


def reply_filtered() -> ContentFilterError:
    """The reply was stopped by the content filter (the prompt itself passed)."""
    return ContentFilterError(
        "the service's content filter stopped the reply; it was not kept in the conversation: rephrase your message"
    )


def cut_mid_tool_call() -> ServiceError:
    """A reply cut at the output token limit while the model was writing a tool call: the call's arguments may be
    cut too, so it is not run and nothing of the turn is kept."""
    return ServiceError(
        "the reply hit the model's output token limit in the middle of a tool call; this turn was not kept: "
        "send the message again, or ask for less at once",
        status=502,
    )


def moved_on(conversation_id: str) -> ServiceError:
    """Another turn on the same conversation finished while this one ran; this one is not kept (HTTP 409)."""
    return ServiceError(
        f"conversation {conversation_id} moved on while this turn ran (another request on the same conversation); "
        "this answer was not kept: send the message again",
        status=409,
    )


def retry_after_seconds(value: str | None, now: float | None = None) -> int | None:
    """A Retry-After header (seconds or an HTTP-date) as whole seconds in [0, MAX_RETRY_AFTER]; None if absent or
    unreadable. Finite and capped whatever the service sends."""
    if not value or not value.strip():
        return None
    text = value.strip()
    seconds: float
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        import time

        seconds = when.timestamp() - (time.time() if now is None else now)
    if math.isnan(seconds):
        return None
    if not math.isfinite(seconds) or seconds > MAX_RETRY_AFTER:
        return MAX_RETRY_AFTER
    return max(0, math.ceil(seconds))


def stream_ended_early(what: str = "the service") -> ServiceError:
    """A streamed reply that ended before its final event: a cut connection, a proxy timeout, a service restart."""
    return ServiceError(
        f"the reply stream ended before {what} finished it; this turn was not kept: send the message again",
        status=502,
    )


def service_error(exc: Exception, settings: Settings, endpoint: str) -> ServiceError:
    """Translate an openai or azure-identity exception into one clear line (the SDK already retried)."""
    import openai
    from azure.core.exceptions import ClientAuthenticationError

    deployment = settings.azure_ai_model_deployment
    if isinstance(exc, openai.BadRequestError) and exc.code == "content_filter":
        return ContentFilterError(
            "the service's content filter blocked this message (it was not sent to the model and the conversation "
            "is unchanged): rephrase it"
        )
    if isinstance(exc, ClientAuthenticationError):
        return ServiceError(
            "could not get an Entra ID token: run `az login` (locally) or give the app a managed identity "
            f"(AZURE_CLIENT_ID) in Azure; `--verbose` shows each credential tried. Detail: {_first_line(exc)}"
        )
    if isinstance(exc, openai.RateLimitError):
        # openai retries a 429 at most APP_MAX_RETRIES times, waiting the service's retry-after(-ms) up to 120 s and
        # not retrying at all beyond that (openai 3.57 _base_client.py: _calculate_retry_timeout, _should_retry,
        # MAX_RETRY_AFTER_DELAY): so this message claims no number of retries.
        retry_after = retry_after_seconds(exc.response.headers.get("retry-after"))
        wait = f"try again in {retry_after}s" if retry_after else "try again in a moment"
        return ServiceError(
            f"the service is throttling deployment '{deployment}' (429): {wait}, or raise the deployment's "
            "capacity (tokens per minute) in infra/main.parameters.json",
            status=429,
            retry_after=retry_after,
        )
    if isinstance(exc, openai.AuthenticationError):
        return ServiceError(
            f"the service rejected the token (401) at {endpoint}: check the token scope and that you are "
            "signed in to the right tenant (`az login --tenant ...`)",
            status=401,
        )
    if isinstance(exc, openai.PermissionDeniedError):
        return ServiceError(
            f"your identity lacks access (403) at {endpoint}: it needs {ROLE} "
            "(granted by infra/; new role assignments can take a few minutes to apply)",
            status=403,
        )
    if isinstance(exc, openai.NotFoundError):
        return ServiceError(
            f"not found (404) at {endpoint}: check AZURE_AI_MODEL_DEPLOYMENT ('{deployment}') and the endpoint "
            f"setting. Detail: {_detail(exc)}",
            status=404,
        )
    if isinstance(exc, openai.APITimeoutError):
        return ServiceError(f"no answer from {endpoint} within {settings.app_timeout_seconds:g}s (APP_TIMEOUT_SECONDS)")
    if isinstance(exc, openai.APIConnectionError):
        # openai wraps the transport error; a refused or unresolvable address is "cannot reach", anything else (a
        # connection closed before or during the answer) is a dropped connection.
        cause = exc.__cause__
        detail = _first_line(cause if cause is not None else exc)
        if cause is None or type(cause).__name__ in ("ConnectError", "ConnectTimeout"):
            return ServiceError(f"cannot reach {endpoint}: check the endpoint setting and your network ({detail})")
        return ServiceError(
            f"the connection to {endpoint} dropped before the reply was complete ({detail}); this turn was not "
            "kept: send the message again",
            status=502,
        )
    if isinstance(exc, openai.APIStatusError):
        return ServiceError(f"the service answered {exc.status_code}: {_detail(exc)}", status=exc.status_code)
    return ServiceError(f"{type(exc).__name__}: {_first_line(exc)}")


def _detail(exc: Exception) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
    return _first_line(exc)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
