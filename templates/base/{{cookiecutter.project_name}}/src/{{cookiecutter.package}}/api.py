"""The HTTP API: POST /chat, POST /chat/stream (server-sent events), GET /healthz; Entra ID bearer tokens required.

Every call but /healthz needs a token for APP_AUTH_AUDIENCE from tenant APP_AUTH_TENANT_ID (signature checked
against the tenant's published keys, issuer, audience, expiry and tenant). A conversation belongs to the caller
who started it (the token's oid, else sub): anyone else gets 404. Errors carry one line and a request id;
endpoints, tenant ids and role names go to the log only. Start it with
`{{ cookiecutter.project_name }} serve`
or `uvicorn {{ cookiecutter.package }}.api:app`;
APP_AUTH_DISABLED=true switches authentication off for local development, loudly.
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, MutableMapping, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field

from {{ cookiecutter.package }}.errors import (
    ContentFilterError,
    ConversationGoneError,
    ServiceError,
    SettingsError,
)
from {{ cookiecutter.package }}.service import Attachment, ChatService, Citation, new_conversation_id
from {{ cookiecutter.package }}.settings import Settings, read_settings

log = logging.getLogger("{{ cookiecutter.package }}.api")

ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
LOCAL_CALLER = "local-dev"
# The conversation name the chat service sees: never a service id, so no runtime adopts a conversation it
# did not create for this API (the agents app looks unknown names up once, then creates its own).
INTERNAL_PREFIX = "api-"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class ChatRequest(BaseModel):
    """One user message; no conversation_id starts a new conversation (its id is in the answer)."""

    conversation_id: str | None = Field(default=None, pattern=ID_PATTERN)
    message: str = Field(min_length=1, max_length=100_000)


class CitationOut(BaseModel):
    """A source the reply cites: a searched file's name, or a web page's title and url."""

    title: str
    url: str = ""


class AttachmentOut(BaseModel):
    """A file a tool produced (a code interpreter container file, or an image the server saved)."""

    name: str
    container_id: str = ""
    file_id: str = ""


class ChatResponse(BaseModel):
    """The reply, the id that continues the conversation, the sources it cites and the files its tools made."""

    conversation_id: str
    reply: str
    citations: list[CitationOut] = Field(default_factory=list)
    attachments: list[AttachmentOut] = Field(default_factory=list)


def _citations(items: Sequence[Citation]) -> list[CitationOut]:
    return [CitationOut(title=c.title, url=c.url) for c in items]


def _attachments(items: Sequence[Attachment]) -> list[AttachmentOut]:
    # A local path is the server's business, never the caller's: only the name (and a container file's ids).
    return [AttachmentOut(name=a.name, container_id=a.container_id, file_id=a.file_id) for a in items]


class ApiError(Exception):
    """An answer other than 200: status, one line for the caller, and what only the log may see."""

    def __init__(self, status: int, message: str, *, log_detail: str = "", headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.log_detail, self.headers = status, message, log_detail, headers or {}


@dataclass(frozen=True)
class Caller:
    """Who is calling: the token's object id (or subject)."""

    owner: str


class TokenValidator:
    """Entra ID access tokens: RS256 signature against the tenant's JWKS, issuer, audience, expiry, tenant."""

    def __init__(self, tenant: str, audiences: list[str], authority: str) -> None:
        import jwt

        base = authority.rstrip("/")
        self.tenant = tenant
        self.audiences = audiences
        # v2.0 tokens name the authority; v1.0 tokens (accessTokenAcceptedVersion null) name sts.windows.net.
        self.issuers = [f"{base}/{tenant}/v2.0", f"https://sts.windows.net/{tenant}/"]
        keys_url = f"{base}/{tenant}/discovery/v2.0/keys"
        self.jwks = jwt.PyJWKClient(keys_url, cache_keys=True, lifespan=3600, timeout=10)

    def validate(self, token: str) -> dict[str, Any]:
        """The token's claims; ApiError 401 for any invalid token, 503 when the keys cannot be fetched."""
        import jwt

        try:
            key = self.jwks.get_signing_key_from_jwt(token)
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=["RS256"],
                audience=self.audiences,
                issuer=self.issuers,
                leeway=30,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.PyJWKClientConnectionError as exc:
            raise ApiError(503, "authentication is unavailable, try again later", log_detail=str(exc)) from None
        except (jwt.PyJWKClientError, jwt.InvalidTokenError) as exc:
            raise _unauthorized(f"invalid token: {type(exc).__name__}: {exc}") from None
        if claims.get("tid") != self.tenant:
            raise _unauthorized(f"token from tenant {claims.get('tid')!r}, not the configured one")
        if not (claims.get("oid") or claims.get("sub")):
            raise _unauthorized("token has neither oid nor sub")
        return claims


def _unauthorized(detail: str) -> ApiError:
    return ApiError(401, "a valid Entra ID bearer token is required", log_detail=detail,
                    headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


class Ownership:
    """Which caller started which conversation (SQLite at APP_STATE_PATH, beside the runtime's own state)."""

    def __init__(self, path: str) -> None:
        self.path = Path(path)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with closing(sqlite3.connect(self.path, timeout=10)) as db, db:
                db.execute("CREATE TABLE IF NOT EXISTS api_conversations (id TEXT PRIMARY KEY, owner TEXT NOT NULL, "
                           "created REAL NOT NULL)")
                yield db
        except (OSError, sqlite3.Error) as exc:
            raise ApiError(503, "conversation storage is unavailable",
                           log_detail=f"APP_STATE_PATH {str(self.path)!r} is not usable: {exc}") from None

    def create(self, owner: str) -> str:
        conversation_id = new_conversation_id()
        with self._db() as db:
            db.execute("INSERT INTO api_conversations VALUES (?, ?, ?)", (conversation_id, owner, time.time()))
        return conversation_id

    def forget(self, owner: str, conversation_id: str) -> None:
        with self._db() as db:
            db.execute("DELETE FROM api_conversations WHERE id = ? AND owner = ?", (conversation_id, owner))

    def owns(self, owner: str, conversation_id: str) -> bool:
        with self._db() as db:
            row = db.execute("SELECT owner FROM api_conversations WHERE id = ?", (conversation_id,)).fetchone()
        return row is not None and row[0] == owner


class Busy:
    """Conversations with a turn in progress: a second concurrent turn gets 409, not a forked history."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids: set[str] = set()

    @contextmanager
    def hold(self, conversation_id: str) -> Iterator[None]:
        with self._lock:
            if conversation_id in self._ids:
                raise ApiError(409, "another turn on this conversation is still running; retry when it ends")
            self._ids.add(conversation_id)
        try:
            yield
        finally:
            with self._lock:
                self._ids.discard(conversation_id)


def upstream_error(exc: ServiceError) -> ApiError:
    """The caller's view of a service failure: the status means something, the text names nothing internal."""
    cause = exc.__cause__
    upstream_id = getattr(cause, "request_id", None) or ""
    detail = f"{exc} (service request id {upstream_id or 'none'})"
    status = exc.status
    if isinstance(exc, ContentFilterError):
        # The caller's content, not a service failure: nothing of the turn was kept.
        return ApiError(400, "the content filter blocked this message or stopped its reply; nothing was kept: "
                        "rephrase it", log_detail=detail)
    if status == 429:
        retry = str(max(1, int(exc.retry_after or 1)))
        return ApiError(429, "the model service is busy; retry later", log_detail=detail,
                        headers={"Retry-After": retry})
    if status == 400:
        return ApiError(400, "the model service rejected this message (content filter or invalid input)",
                        log_detail=detail)
    if status == 409:
        return ApiError(409, "the conversation moved on while this turn ran; send the message again",
                        log_detail=detail)
    if isinstance(exc, ConversationGoneError):
        return ApiError(404, "this conversation is no longer on the model service (stored replies expire); it has "
                        "been reset: send the message again to start over", log_detail=detail)
    if status == 502:
        # The reply stream ended early or the connection dropped mid-answer: the turn was not kept.
        return ApiError(502, "the model service's reply did not arrive complete; nothing was kept: send the "
                        "message again", log_detail=detail)
    if status is None or status in (503, 504):
        # Unreachable, timed out, or an intermittent not-found: nothing changed, a retry can succeed.
        return ApiError(503, "the model service is unavailable; retry later", log_detail=detail)
    return ApiError(502, "the model service failed to answer", log_detail=detail)


def _default_service() -> ChatService:
    from {{ cookiecutter.package }}.cli import make_service

    return make_service()


class BodyLimit:
    """Refuse bodies over the limit (413) while reading them, before any JSON parsing."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length", b"")
        if length and (not length.isdigit() or int(length) > self.limit):
            await _plain(send, 413, f"request body over {self.limit} bytes")
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await _plain(send, 413, f"request body over {self.limit} bytes")
                return
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _plain(send: Send, status: int, detail: str) -> None:
    payload = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()),
               (b"connection", b"close")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


def _record_on_span(status: int, rid: str) -> None:
    # The request id on the current (FastAPI) span, so a caller's id finds the trace; no-op without telemetry.
    from opentelemetry import trace

    span = trace.get_current_span()
    if span.is_recording():
        span.set_attribute("app.request_id", rid)
        span.set_attribute("app.error_status", status)


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


def create_app(
    service_factory: Callable[[], ChatService] = _default_service,
    settings_factory: Callable[[], Settings] = read_settings,
) -> FastAPI:
    """The API. Settings and the chat service are read on the first request, so /healthz answers without them."""
    try:
        startup = settings_factory()
    except SettingsError:
        startup = None
    docs = bool(startup and startup.app_docs)
    app = FastAPI(
        title="{{ cookiecutter.project_name }}",
        summary="{{ cookiecutter.runtime_title }} chat",
        docs_url="/docs" if docs else None,
        redoc_url=None,
        openapi_url="/openapi.json" if docs else None,
    )
    if startup is not None:
        from {{ cookiecutter.package }} import telemetry

        if telemetry.configure(startup, app):
            log.info("telemetry: exporting to Application Insights with the app's Entra credential")
    if startup is not None and startup.app_auth_disabled:
        log.warning("APP_AUTH_DISABLED=true: the API accepts calls WITHOUT a token; for local development only")
    lock = threading.Lock()
    built: dict[str, Any] = {}
    busy = Busy()

    def settings() -> Settings:
        with lock:
            if "settings" not in built:
                try:
                    built["settings"] = settings_factory()
                except SettingsError as exc:
                    raise ApiError(503, "the service is not configured", log_detail=str(exc)) from None
            value: Settings = built["settings"]
            return value

    def service() -> ChatService:
        with lock:
            if "service" not in built:
                try:
                    built["service"] = service_factory()
                except SettingsError as exc:
                    raise ApiError(503, "the service is not configured", log_detail=str(exc)) from None
            value: ChatService = built["service"]
            return value

    def validator(s: Settings) -> TokenValidator:
        with lock:
            if "validator" not in built:
                audiences = [a.strip() for a in s.app_auth_audience.split(",") if a.strip()]
                built["validator"] = TokenValidator(s.app_auth_tenant_id.strip(), audiences, s.app_auth_authority)
            value: TokenValidator = built["validator"]
            return value

    def caller(request: Request) -> Caller:
        s = settings()
        if s.app_auth_disabled:
            return Caller(LOCAL_CALLER)
        if not s.app_auth_tenant_id.strip() or not s.app_auth_audience.strip():
            raise ApiError(503, "authentication is not configured",
                           log_detail="set APP_AUTH_TENANT_ID and APP_AUTH_AUDIENCE (APP_AUTH_DISABLED=true locally)")
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "a valid Entra ID bearer token is required", log_detail="no bearer token",
                           headers={"WWW-Authenticate": "Bearer"})
        claims = validator(s).validate(token.strip())
        return Caller(str(claims.get("oid") or claims.get("sub")))

    def conversation(who: Caller, requested: str | None) -> tuple[str, bool]:
        """The conversation's id and whether this call created it."""
        ownership = Ownership(settings().app_state_path)
        if requested is None:
            return ownership.create(who.owner), True
        if not ownership.owns(who.owner, requested):
            raise ApiError(404, "no such conversation")
        return requested, False

    def forget_if_new(who: Caller, conversation_id: str, new: bool) -> None:
        # A conversation whose first turn failed was never handed out (the runtime dropped its state too):
        # its id must not stay valid.
        if new:
            try:
                Ownership(settings().app_state_path).forget(who.owner, conversation_id)
            except ApiError as exc:
                log.warning("could not forget conversation %s: %s", conversation_id, exc.log_detail)

    @app.middleware("http")
    async def request_id(request: Request, call_next: Callable[[Request], Awaitable[Any]]) -> Any:
        given = request.headers.get("x-request-id", "")
        rid = given if REQUEST_ID_RE.match(given) else uuid.uuid4().hex
        request.state.request_id = rid
        try:
            response = await call_next(request)
        except Exception:
            # Nothing unexpected reaches the caller as a traceback: one line and the id to find it in the log.
            log.exception("request %s failed", rid)
            response = JSONResponse({"detail": "internal error", "request_id": rid}, status_code=500)
        response.headers["x-request-id"] = rid
        return response

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        rid = getattr(request.state, "request_id", "")
        _record_on_span(exc.status, rid)
        extra = f" ({exc.log_detail})" if exc.log_detail else ""
        log.warning("request %s: %d %s%s", rid, exc.status, exc.message, extra)
        return JSONResponse({"detail": exc.message, "request_id": rid}, status_code=exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        # The input is never echoed back (it can be megabytes); only where and what is wrong.
        errors = [
            {"loc": [str(p) for p in e.get("loc", ())][:5], "type": str(e.get("type", "")),
             "msg": str(e.get("msg", ""))[:200]}
            for e in exc.errors()[:10]
        ]
        # Broken JSON and text that is not Unicode (JSON allows lone surrogates, pydantic refuses them) are
        # malformed requests (400); well-formed values that break a rule are 422.
        status = 400 if any(e["type"] in ("json_invalid", "string_unicode") for e in errors) else 422
        rid = getattr(request.state, "request_id", "")
        return JSONResponse({"detail": errors, "request_id": rid}, status_code=status)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/chat")
    # Depends() as a default: the dependency is local to this app instance, which Annotated[] under
    # `from __future__ import annotations` could not resolve.
    def chat(request: ChatRequest, who: Caller = Depends(caller)) -> ChatResponse:  # noqa: B008
        # A plain (sync) endpoint: FastAPI runs it in a worker thread, so the blocking SDK call is fine.
        conversation_id, new = conversation(who, request.conversation_id)
        with busy.hold(conversation_id):
            try:
                reply = service().reply(INTERNAL_PREFIX + conversation_id, request.message)
            except ServiceError as exc:
                forget_if_new(who, conversation_id, new)
                raise upstream_error(exc) from None
            except BaseException:
                forget_if_new(who, conversation_id, new)
                raise
        return ChatResponse(conversation_id=conversation_id, reply=reply.text, citations=_citations(reply.citations),
                            attachments=_attachments(reply.attachments))

    @app.post("/chat/stream", response_class=StreamingResponse)
    def chat_stream(
        request: ChatRequest, http: Request, who: Caller = Depends(caller)  # noqa: B008
    ) -> StreamingResponse:
        """Server-sent events: `start`, `delta` (text)..., then `done` (conversation_id, reply) or `error`.

        `start` names the conversation only when the caller continues one; a new conversation's id comes with
        `done`, after its first turn succeeded (a failed first turn leaves no conversation behind, on the
        service or here).
        """
        conversation_id, new = conversation(who, request.conversation_id)
        hold = busy.hold(conversation_id)
        hold.__enter__()
        rid = getattr(http.state, "request_id", "")
        try:
            stream = service().stream(INTERNAL_PREFIX + conversation_id, request.message)
            deltas = iter(stream)
            # The first delta is awaited here, so an early failure is a plain HTTP error with its status.
            first = next(deltas, None)
        except ServiceError as exc:
            forget_if_new(who, conversation_id, new)
            hold.__exit__(None, None, None)
            raise upstream_error(exc) from None
        except BaseException:
            forget_if_new(who, conversation_id, new)
            hold.__exit__(None, None, None)
            raise

        def events() -> Iterator[bytes]:
            done = False
            try:
                yield _sse("start", {} if new else {"conversation_id": conversation_id})
                if first is not None:
                    yield _sse("delta", {"text": first})
                for delta in deltas:
                    yield _sse("delta", {"text": delta})
                done = True
                yield _sse("done", {
                    "conversation_id": conversation_id, "reply": stream.text,
                    "citations": [c.model_dump() for c in _citations(stream.citations)],
                    "attachments": [a.model_dump() for a in _attachments(stream.attachments)],
                })
            except ServiceError as exc:
                err = upstream_error(exc)
                log.warning("request %s: stream ended with %d %s (%s)", rid, err.status, err.message, err.log_detail)
                yield _sse("error", {"status": err.status, "detail": err.message, "request_id": rid})
            finally:
                if not done:
                    forget_if_new(who, conversation_id, new)
                hold.__exit__(None, None, None)

        return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})

    limit = startup.app_max_body_bytes if startup is not None else 262_144
    app.add_middleware(BodyLimit, limit=limit)
    return app


app = create_app()
