"""A fake Foundry service on 127.0.0.1 for the tests: real HTTP(S), every request recorded, a managed-identity
token endpoint and a tiny deterministic "model". Standard library only, so other test suites can load it too."""

from __future__ import annotations

import json
import re
import ssl
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

IDENTITY_HEADER = "fake-identity-header"
TOKEN_PATH = "/msi/token"
TOKEN_PREFIX = "fake-token-for:"
# User messages the fake model treats specially, like a real deployment's content filter and token limit do.
FILTERED_PROMPT = "please trip the prompt filter"  # refused before the model runs: 400 content_filter
FILTERED_REPLY = "please trip the reply filter"  # the model starts, the filter stops it: finish reason content_filter
LONG_REPLY = "please write a very long essay"  # cut at the output token limit: finish reason length / max_output_tokens
SHOW_WORK = "show your work"  # with a tool request: the model says a sentence before calling the tool
PREAMBLE = "Let me work that out."
CUT_TOOL_CALL = "calculate it all at length"  # the token limit cuts the reply mid tool call: finish reason length
KEEP_CALLING = "keep calculating forever"  # the model calls a tool every round for as long as it is offered tools


@dataclass
class Recorded:
    """One request as it went over the wire."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: Any  # parsed JSON, or None (a body that is not JSON, such as a multipart file upload, is in `raw`)
    answer: Answer | None = None  # what the fake sent back
    raw: bytes = b""

    @property
    def authorization(self) -> str:
        return self.headers.get("authorization", "")

    @property
    def status(self) -> int:
        return self.answer.status if self.answer else 0

    @property
    def response(self) -> Any:
        """The JSON body the fake answered with (for a stream, the final response it streamed)."""
        return self.answer.body if self.answer else None


@dataclass
class Answer:
    """What a route returns: a JSON body, or server-sent events when `events` is set (then `body` is not sent)."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    events: list[tuple[str, dict[str, Any]]] | None = None
    delay: float = 0.0  # seconds to wait before sending anything (longer than the client's timeout = a timeout)
    drop: bool = False  # close the connection without sending a response
    stream_fault: StreamFault | None = None  # for `events`: what goes wrong part-way through the stream


@dataclass(frozen=True)
class StreamFault:
    """A streamed answer that breaks after `after` events (None: every event but the last, the terminal one).

    kind "cut": the body ends cleanly, the terminal event never comes (a proxy or the service gave up);
    "drop": the connection closes mid-body (the chunked body is never finished); "stall": nothing more is sent
    for `seconds`, longer than the client's read timeout.
    """

    kind: str
    after: int | None = None
    seconds: float = 0.0


Route = Callable[[Recorded, re.Match[str]], Answer]


def error(status: int, code: str, message: str, **headers: str) -> Answer:
    """An error in the shape Azure OpenAI and Foundry use."""
    return Answer(status, {"error": {"code": code, "message": message}}, dict(headers))


def prompt_filtered(text: str) -> Answer | None:
    """Azure's answer to a prompt its content filter blocks (400, code content_filter), or None."""
    if FILTERED_PROMPT not in text:
        return None
    return Answer(400, {"error": {
        "code": "content_filter", "param": "prompt", "status": 400,
        "message": "The response was filtered due to the prompt triggering Azure OpenAI's content management policy.",
        "innererror": {"code": "ResponsibleAIPolicyViolation",
                       "content_filter_result": {"violence": {"filtered": True, "severity": "medium"}}},
    }})


class FakeFoundry:
    """Routes are added by the runtime's fake (tests/fake_service.py); the token endpoint and faults are built in.

    `audience` is the token resource the service accepts (the scope without /.default): a token minted for
    another resource is refused with 401, like Entra-protected endpoints do.
    """

    def __init__(self, audience: str, tls: ssl.SSLContext | None = None) -> None:
        self.audience = audience
        self.requests: list[Recorded] = []
        self.runtime: Any = None  # the runtime's fake (set by tests/conftest.py), for tests that inspect its state
        self.token_requests: list[Recorded] = []
        self._routes: list[tuple[str, re.Pattern[str], Route, str | None]] = []
        self._faults: list[Answer] = []
        self._delays: list[float] = []
        self._stream_faults: list[StreamFault] = []
        self._lock = threading.Lock()
        self._tls = tls
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        if tls is not None:
            self._httpd.socket = tls.wrap_socket(self._httpd.socket, server_side=True)
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)

    # -- lifecycle ---------------------------------------------------------------------------------------
    def __enter__(self) -> FakeFoundry:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    @property
    def url(self) -> str:
        scheme = "https" if self._tls else "http"
        return f"{scheme}://127.0.0.1:{self._httpd.server_address[1]}"

    def identity_env(self) -> dict[str, str]:
        """Environment that makes azure-identity's managed identity credential fetch tokens here (App Service)."""
        return {"IDENTITY_ENDPOINT": self.url + TOKEN_PATH, "IDENTITY_HEADER": IDENTITY_HEADER}

    # -- configuration -----------------------------------------------------------------------------------
    def route(self, method: str, pattern: str, handler: Route, audience: str | None = None) -> None:
        """Serve `method` on paths fully matching the regex `pattern`; `audience` when it is another service's
        (Azure Resource Manager), whose token the route takes instead of this fake's."""
        self._routes.append((method, re.compile(pattern), handler, audience))

    def fail_next(self, times: int = 1, status: int = 429, retry_after_ms: int = 1, retry_after: str = "7") -> None:
        """The next `times` service requests fail with `status` (429 carries Azure's retry-after headers: the SDK
        waits `retry_after_ms`, which it reads first, and the app reports `retry_after` to its own clients)."""
        headers = {"retry-after-ms": str(retry_after_ms), "retry-after": retry_after} if status == 429 else {}
        code = "429" if status == 429 else "InternalServerError"
        message = "Requests to the deployment have exceeded the rate limit of your current pricing tier."
        self._faults.extend(error(status, code, message, **headers) for _ in range(times))

    def drop_next(self, times: int = 1) -> None:
        """The next `times` service requests get no response at all: the connection just closes."""
        self._faults.extend(Answer(drop=True) for _ in range(times))

    def stall_next(self, seconds: float, times: int = 1) -> None:
        """The next `times` service requests are answered only after `seconds` (longer than the timeout: a timeout)."""
        self._delays.extend(seconds for _ in range(times))

    def cut_next_stream(self, after: int | None = None) -> None:
        """The next streamed answer ends cleanly after `after` events, without its terminal event."""
        self._stream_faults.append(StreamFault("cut", after))

    def drop_next_stream(self, after: int | None = None) -> None:
        """The next streamed answer loses its connection after `after` events."""
        self._stream_faults.append(StreamFault("drop", after))

    def stall_next_stream(self, seconds: float, after: int | None = None) -> None:
        """The next streamed answer stops sending for `seconds` after `after` events."""
        self._stream_faults.append(StreamFault("stall", after, seconds))

    def calls(self, method: str | None = None, path: str | None = None) -> list[Recorded]:
        """Recorded service requests (token requests excluded), filtered by method and path regex."""
        return [
            r for r in self.requests
            if (method is None or r.method == method) and (path is None or re.fullmatch(path, r.path))
        ]

    # -- dispatch ----------------------------------------------------------------------------------------
    def _dispatch(self, req: Recorded) -> Answer:
        answer = self._answer(req)
        if req.path != TOKEN_PATH:
            with self._lock:
                if self._delays:
                    answer.delay = self._delays.pop(0)
                if answer.events is not None and self._stream_faults:
                    answer.stream_fault = self._stream_faults.pop(0)
        req.answer = answer
        return answer

    def _answer(self, req: Recorded) -> Answer:
        if req.path == TOKEN_PATH:
            self.token_requests.append(req)
            return self._token(req)
        with self._lock:
            self.requests.append(req)
            fault = self._faults.pop(0) if self._faults else None
        if fault is not None:
            return fault
        for method, pattern, handler, audience in self._routes:
            match = pattern.fullmatch(req.path)
            if method == req.method and match:
                wanted = audience or self.audience
                if req.authorization != f"Bearer {TOKEN_PREFIX}{wanted}":
                    return error(401, "PermissionDenied", f"Bearer token for {wanted} required")
                return handler(req, match)
        if req.authorization != f"Bearer {TOKEN_PREFIX}{self.audience}":
            return error(401, "PermissionDenied", f"Bearer token for {self.audience} required")
        return error(404, "NotFound", f"no route for {req.method} {req.path}")

    def _token(self, req: Recorded) -> Answer:
        if req.headers.get("x-identity-header") != IDENTITY_HEADER:
            return Answer(401, {"statusCode": 401, "message": "missing X-IDENTITY-HEADER"})
        resource = req.query.get("resource", [""])[0]
        return Answer(200, {
            "access_token": TOKEN_PREFIX + resource,
            "expires_on": str(int(time.time()) + 3600),
            "resource": resource,
            "token_type": "Bearer",
        })


def _handler_for(server: FakeFoundry) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            pass

        def _handle(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            is_json = raw and not headers.get("content-type", "").startswith("multipart/")
            body = json.loads(raw) if is_json else None
            req = Recorded(self.command, parts.path, parse_qs(parts.query), headers, body, raw=raw)
            try:
                answer = server._dispatch(req)
            except Exception as exc:  # a broken fake must show up as a failed request, not a hung client
                answer = req.answer = error(500, "FakeServerError", f"{type(exc).__name__}: {exc}")
            try:
                if answer.delay:
                    time.sleep(answer.delay)
                if answer.drop:
                    self.close_connection = True  # closed without a status line: the client sees a dropped connection
                elif answer.events is not None:
                    self._send_events(answer)
                else:
                    self._send_json(answer)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up first (its timeout): nothing to do
                self.close_connection = True

        def _send_json(self, answer: Answer) -> None:
            binary = isinstance(answer.body, bytes)  # file content: sent as is, with the route's content-type
            payload = answer.body if binary else b"" if answer.body is None else json.dumps(answer.body).encode()
            self.send_response(answer.status)
            if not binary or "content-type" not in answer.headers:
                self.send_header("content-type", "application/octet-stream" if binary else "application/json")
            self.send_header("content-length", str(len(payload)))
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        def _send_events(self, answer: Answer) -> None:
            # Chunked, as the service streams: a connection closed before the last chunk is visibly broken.
            self.send_response(answer.status)
            self.send_header("content-type", "text/event-stream")
            self.send_header("transfer-encoding", "chunked")
            self.send_header("connection", "close")
            self.end_headers()
            self.close_connection = True
            events = answer.events or []
            fault = answer.stream_fault
            stop = None if fault is None else (len(events) - 1 if fault.after is None else fault.after)
            for sequence, (kind, data) in enumerate(events):
                if fault is not None and sequence == stop:
                    if fault.kind == "stall":
                        time.sleep(fault.seconds)
                    if fault.kind in ("stall", "drop"):
                        return  # no closing chunk: the body is incomplete
                    break
                payload = json.dumps({"type": kind, "sequence_number": sequence, **data})
                self._chunk(f"event: {kind}\ndata: {payload}\n\n".encode())
            self._chunk(b"")

        def _chunk(self, data: bytes) -> None:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

        do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = _handle  # the names http.server looks up

    return Handler


# -- the fake model -------------------------------------------------------------------------------------------
@dataclass
class Turn:
    """One item of a conversation as the fake model sees it."""

    role: str  # "user" | "assistant" | "tool_call" | "tool"
    text: str = ""
    name: str = ""
    call_id: str = ""


@dataclass
class ToolCall:
    name: str
    arguments: dict[str, Any]
    call_id: str = field(default_factory=lambda: "call_" + uuid.uuid4().hex[:16])


@dataclass
class ModelOutput:
    text: str = ""
    calls: list[ToolCall] = field(default_factory=list)
    stop: str = "stop"  # why the model stopped: "stop", "length" (token limit) or "content_filter"


_NAME = re.compile(r"\bmy name is (\w+)", re.IGNORECASE)
_CALC = re.compile(r"\bcalculate\s+(.+?)\s*\??$", re.IGNORECASE)


def fake_model(transcript: list[Turn], tools: set[str]) -> ModelOutput:
    """Deterministic stand-in for a model: remembers names, calls the example tools, reports their output.

    "calculate A and B" asks for two calculate calls at once (parallel tool calls).
    """
    last = transcript[-1] if transcript else Turn("user")
    asked = next((t.text for t in reversed(transcript) if t.role == "user"), "")
    if KEEP_CALLING in asked and "calculate" in tools:
        return ModelOutput(calls=[ToolCall("calculate", {"expression": "1+1"})])
    if last.role == "tool":
        outputs: list[str] = []
        for turn in reversed(transcript):
            if turn.role != "tool":
                break
            outputs.insert(0, f"The {turn.name} tool says: {turn.text}")
        return ModelOutput("; ".join(outputs))
    text = last.text
    if FILTERED_REPLY in text:
        return ModelOutput("Here is how one would", stop="content_filter")
    if CUT_TOOL_CALL in text and "calculate" in tools:
        return ModelOutput(calls=[ToolCall("calculate", {"expression": "1+"})], stop="length")
    if LONG_REPLY in text:
        return ModelOutput("Essays have a long history. The first", stop="length")
    if "calculate" in tools and (m := _CALC.search(text)):
        expressions = [e.strip() for e in m.group(1).split(" and ")]
        preamble = PREAMBLE if SHOW_WORK in text.lower() else ""
        return ModelOutput(preamble, calls=[ToolCall("calculate", {"expression": e}) for e in expressions])
    if "get_current_time" in tools and "time" in text.lower():
        return ModelOutput(calls=[ToolCall("get_current_time", {"timezone": "UTC"})])
    if m := _NAME.search(text):
        return ModelOutput(f"Nice to meet you, {m.group(1)}.")
    if "what is my name" in text.lower():
        for turn in reversed(transcript[:-1]):
            if turn.role == "user" and (m := _NAME.search(turn.text)):
                return ModelOutput(f"Your name is {m.group(1)}.")
        return ModelOutput("I don't know your name yet.")
    users = sum(1 for t in transcript if t.role == "user")
    return ModelOutput(f"You said: {text} (user turn {users})")


def words(text: str) -> list[str]:
    """Split a reply into streaming deltas (a word and its trailing space each)."""
    return re.findall(r"\S+\s*", text) or [text]

