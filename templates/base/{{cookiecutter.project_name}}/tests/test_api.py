"""The HTTP API served by uvicorn on 127.0.0.1, called over real HTTP with Entra-style tokens.

Tokens are signed with a throwaway RSA key whose public half a local JWKS endpoint serves, exactly where the
app fetches the tenant's keys (APP_AUTH_AUTHORITY/<tenant>/discovery/v2.0/keys), through PyJWT's JWKS client.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa
from fake_foundry import FILTERED_PROMPT, FakeFoundry

from {{ cookiecutter.package }}.api import create_app
from {{ cookiecutter.package }}.service import ChatService, Reply, ReplyStream

TENANT = "11111111-2222-4333-8444-555555555555"
OTHER_TENANT = "99999999-2222-4333-8444-555555555555"
AUDIENCE = "api://{{ cookiecutter.project_name }}-test"
KID = "test-key-1"
ADA = "00000000-0000-4000-8000-00000000a0a0"
BOB = "00000000-0000-4000-8000-00000000b0b0"


class Issuer:
    """A local stand-in for the tenant's key endpoint, and the private key that signs test tokens."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        keys = json.dumps({"keys": [{**public, "kid": KID, "use": "sig", "alg": "RS256"}]}).encode()
        self.fetches = 0
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path != f"/{TENANT}/discovery/v2.0/keys":
                    self.send_error(404)
                    return
                issuer.fetches += 1
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(keys)))
                self.end_headers()
                self.wfile.write(keys)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.authority = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def token(self, oid: str = ADA, *, tenant: str = TENANT, audience: str = AUDIENCE, expires_in: int = 600,
              key: Any = None, iss: str | None = None, tid: str | None = None) -> str:
        """A v2.0 token by default; `iss` makes another shape (v1.0: https://sts.windows.net/<tenant>/)."""
        now = int(time.time())
        claims = {
            "iss": iss or f"{self.authority}/{tenant}/v2.0", "aud": audience, "tid": tid or tenant, "oid": oid,
            "sub": oid[::-1], "iat": now - 60, "nbf": now - 60, "exp": now + expires_in,
        }
        return jwt.encode(claims, key or self.key, algorithm="RS256", headers={"kid": KID})


@pytest.fixture
def issuer(monkeypatch: pytest.MonkeyPatch) -> Iterator[Issuer]:
    server = Issuer()
    monkeypatch.setenv("APP_AUTH_TENANT_ID", TENANT)
    monkeypatch.setenv("APP_AUTH_AUDIENCE", AUDIENCE)
    monkeypatch.setenv("APP_AUTH_AUTHORITY", server.authority)
    yield server
    server.server.shutdown()


@contextmanager
def serving(app: Any) -> Iterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture
def api(issuer: Issuer) -> Iterator[str]:
    with serving(create_app()) as url:
        yield url


def call(url: str, body: Any = None, token: str | None = None, raw: bytes | None = None,
         headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], Any]:
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    sent = {"content-type": "application/json", **(headers or {})}
    if token:
        sent["authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, headers=sent)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            text = response.read()
            return response.status, dict(response.headers), _body(text, response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), _body(exc.read(), exc.headers)


def _body(text: bytes, headers: Any) -> Any:
    if "text/event-stream" in headers.get("content-type", ""):
        return text.decode()
    return json.loads(text) if text else None


def events(text: str) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        out.append((lines["event"], json.loads(lines["data"])))
    return out


def test_healthz_needs_no_settings_and_no_token(api: str) -> None:
    status, _, body = call(api + "/healthz")
    assert (status, body) == (200, {"status": "ok"})


def test_two_turns_over_http(app_env: FakeFoundry, issuer: Issuer, api: str) -> None:
    token = issuer.token()
    status, _, first = call(api + "/chat", {"message": "my name is Ada"}, token)
    assert status == 200 and first["reply"] == "Nice to meet you, Ada."
    conversation = first["conversation_id"]
    status, _, second = call(api + "/chat", {"conversation_id": conversation, "message": "what is my name?"}, token)
    assert (status, second) == (200, {"conversation_id": conversation, "reply": "Your name is Ada.", "citations": [],
                                      "attachments": []})


def test_tool_round_trip_over_http(app_env: FakeFoundry, issuer: Issuer, api: str) -> None:
    status, _, body = call(api + "/chat", {"message": "calculate 12/4"}, issuer.token())
    assert status == 200 and body["reply"] == "The calculate tool says: 3"


@pytest.mark.parametrize("case", ["missing", "not-bearer", "expired", "wrong-audience", "wrong-tenant", "wrong-key",
                                  "garbage", "foreign-tid", "v1-wrong-tenant"])
def test_bad_tokens_get_401_and_reach_nothing(case: str, app_env: FakeFoundry, issuer: Issuer, api: str) -> None:
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = {
        "missing": None,
        "not-bearer": None,
        "expired": issuer.token(expires_in=-120),
        "wrong-audience": issuer.token(audience="api://someone-else"),
        "wrong-tenant": issuer.token(tenant=OTHER_TENANT),
        "wrong-key": issuer.token(key=other_key),
        "garbage": "not.a.jwt",
        # our issuer, another tenant's tid claim: only the tenant check refuses it
        "foreign-tid": issuer.token(tid=OTHER_TENANT),
        # a v1.0 token (the shape `az account get-access-token --resource api://...` returns) from another tenant
        "v1-wrong-tenant": issuer.token(iss=f"https://sts.windows.net/{OTHER_TENANT}/", tenant=OTHER_TENANT),
    }[case]
    headers = {"authorization": "Basic dXNlcjpwYXNz"} if case == "not-bearer" else None
    status, got, body = call(api + "/chat", {"message": "hello"}, token, headers=headers)
    assert status == 401 and "Bearer" in got.get("www-authenticate", got.get("WWW-Authenticate", ""))
    assert body["detail"] == "a valid Entra ID bearer token is required"
    assert app_env.requests == []


def test_v1_tokens_from_the_tenant_are_accepted(app_env: FakeFoundry, issuer: Issuer, api: str) -> None:
    # Entra issues v1.0 access tokens (iss https://sts.windows.net/<tenant>/, aud the App ID URI) for APIs whose
    # registration leaves accessTokenAcceptedVersion unset, which `az account get-access-token --resource` gets.
    token = issuer.token(iss=f"https://sts.windows.net/{TENANT}/")
    status, _, body = call(api + "/chat", {"message": "my name is Ada"}, token)
    assert (status, body["reply"]) == (200, "Nice to meet you, Ada.")
    # the same caller (oid) owns the conversation whichever token version it presents
    status, _, body = call(api + "/chat", {"conversation_id": body["conversation_id"], "message": "what is my name?"},
                           issuer.token())
    assert (status, body["reply"]) == (200, "Your name is Ada.")


def test_another_callers_conversation_is_404(app_env: FakeFoundry, issuer: Issuer, api: str) -> None:
    status, _, first = call(api + "/chat", {"message": "my name is Ada"}, issuer.token(ADA))
    assert status == 200
    before = len(app_env.requests)
    status, _, body = call(api + "/chat", {"conversation_id": first["conversation_id"], "message": "what is my name?"},
                           issuer.token(BOB))
    assert (status, body["detail"]) == (404, "no such conversation")
    status, _, _ = call(api + "/chat", {"conversation_id": "never-created", "message": "hi"}, issuer.token(ADA))
    assert status == 404
    assert len(app_env.requests) == before


def test_throttling_is_a_429_with_retry_after_and_no_internals(app_env: FakeFoundry, issuer: Issuer, api: str) -> None:
    app_env.fail_next(times=10)
    status, headers, body = call(api + "/chat", {"message": "hello"}, issuer.token())
    assert status == 429 and int({k.title(): v for k, v in headers.items()}["Retry-After"]) >= 1
    text = json.dumps(body)
    assert "127.0.0.1" not in text and TENANT not in text and "Foundry User" not in text
    assert body["request_id"] == {k.lower(): v for k, v in headers.items()}["x-request-id"]


def test_missing_settings_is_a_503_that_names_nothing(issuer: Issuer, api: str) -> None:
    status, _, body = call(api + "/chat", {"message": "hello"}, issuer.token())
    assert (status, body["detail"]) == (503, "the service is not configured")


def test_unconfigured_authentication_refuses_every_call(app_env: FakeFoundry, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("APP_AUTH_AUDIENCE", raising=False)
    with serving(create_app()) as url:
        status, _, body = call(url + "/chat", {"message": "hello"})
        assert (status, body["detail"]) == (503, "authentication is not configured")
    assert app_env.requests == []


def test_auth_switched_off_explicitly_for_local_dev_says_so(
    app_env: FakeFoundry, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("APP_AUTH_DISABLED", "true")
    with caplog.at_level(logging.WARNING):
        app = create_app()
    assert "WITHOUT a token" in caplog.text
    with serving(app) as url:
        status, _, body = call(url + "/chat", {"message": "my name is Ada"})
        assert status == 200 and body["reply"] == "Nice to meet you, Ada."


def test_empty_message_is_a_422_and_sends_nothing(app_env: FakeFoundry, issuer: Issuer, api: str) -> None:
    status, _, _ = call(api + "/chat", {"message": ""}, issuer.token())
    assert status == 422
    assert app_env.requests == []


def test_lone_surrogate_and_broken_json_are_400(app_env: FakeFoundry, issuer: Issuer, api: str) -> None:
    token = issuer.token()
    status, _, _ = call(api + "/chat", raw=b'{"message": "hi \\ud800"}', token=token)
    assert status == 400
    status, _, _ = call(api + "/chat", raw=b'{"message": ', token=token)
    assert status == 400
    assert app_env.requests == []


def test_bodies_over_the_limit_are_413_unread_and_422_never_echoes(
    app_env: FakeFoundry, issuer: Issuer, api: str
) -> None:
    token = issuer.token()
    status, _, body = call(api + "/chat", {"message": "x" * 300_000}, token)
    assert status == 413 and len(json.dumps(body)) < 200
    status, _, body = call(api + "/chat", {"message": "y" * 100_001}, token)
    assert status == 422 and "yyyy" not in json.dumps(body)
    assert app_env.requests == []


def test_docs_are_not_served_by_default(api: str) -> None:
    for path in ("/docs", "/openapi.json", "/redoc"):
        assert call(api + path)[0] == 404


def test_unusable_state_path_is_a_clear_503(
    app_env: FakeFoundry, issuer: Issuer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("APP_STATE_PATH", str(blocker / "state.sqlite3"))
    with serving(create_app()) as url:
        status, _, body = call(url + "/chat", {"message": "hello"}, issuer.token())
        assert (status, body["detail"]) == (503, "conversation storage is unavailable")
        assert "a-file" not in json.dumps(body)


def test_stream_sends_server_sent_events_and_the_conversation_continues(
    app_env: FakeFoundry, issuer: Issuer, api: str
) -> None:
    token = issuer.token()
    status, headers, text = call(api + "/chat/stream", {"message": "my name is Ada"}, token)
    assert status == 200 and headers["content-type"].startswith("text/event-stream")
    got = events(text)
    assert got[0] == ("start", {}) and got[-1][0] == "done"  # a new conversation's id only once its turn succeeded
    conversation = got[-1][1]["conversation_id"]
    deltas = "".join(data["text"] for name, data in got if name == "delta")
    assert deltas == got[-1][1]["reply"] == "Nice to meet you, Ada."
    status, _, second = call(api + "/chat", {"conversation_id": conversation, "message": "what is my name?"}, token)
    assert (status, second["reply"]) == (200, "Your name is Ada.")


def test_stream_failure_before_the_first_token_is_a_plain_status(
    app_env: FakeFoundry, issuer: Issuer, api: str
) -> None:
    app_env.fail_next(times=10)
    status, headers, _ = call(api + "/chat/stream", {"message": "hello"}, issuer.token())
    assert status == 429 and "Retry-After" in {k.title() for k in headers}


class Gate:
    """The app's own ChatService protocol (not an SDK client): a turn that waits until the test lets it end."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def reply(self, conversation_id: str | None, message: str) -> Reply:
        self.entered.set()
        self.release.wait(10)
        return Reply(conversation_id or "", "done")

    def stream(self, conversation_id: str | None, message: str) -> ReplyStream:
        return ReplyStream(conversation_id or "", iter([self.reply(conversation_id, message).text]))


def _append_status(results: list[int], url: str, body: dict[str, Any], token: str) -> None:
    results.append(call(url, body, token)[0])


def test_a_second_turn_while_one_runs_is_409(issuer: Issuer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("APP_STATE_PATH", str(tmp_path / "state.sqlite3"))
    gate = Gate()
    service: ChatService = gate
    with serving(create_app(lambda: service)) as url:
        token = issuer.token()
        gate.release.set()
        status, _, first = call(url + "/chat", {"message": "one"}, token)
        assert status == 200
        gate.release.clear()
        gate.entered.clear()
        results: list[int] = []
        body = {"conversation_id": first["conversation_id"], "message": "two"}
        worker = threading.Thread(target=_append_status, args=(results, url + "/chat", body, token))
        worker.start()
        assert gate.entered.wait(10)
        status, _, _ = call(url + "/chat", body, token)
        gate.release.set()
        worker.join(10)
        assert status == 409 and results == [200]


def test_a_filtered_prompt_is_a_400(app_env: FakeFoundry, issuer: Issuer, api: str) -> None:
    status, _, body = call(api + "/chat", {"message": FILTERED_PROMPT}, issuer.token())
    assert status == 400 and "content filter" in body["detail"]


def test_a_stream_that_ends_early_is_a_502_and_leaves_no_conversation(
    app_env: FakeFoundry, issuer: Issuer, api: str
) -> None:
    token = issuer.token()
    status, _, first = call(api + "/chat", {"message": "my name is Ada"}, token)
    assert status == 200
    app_env.cut_next_stream(after=3)
    body = {"conversation_id": first["conversation_id"], "message": "what is my name?"}
    assert _failure_status(*call(api + "/chat/stream", body, token)) == 502
    # A new conversation whose first turn is cut is never named, and nothing of it stays.
    for after in (3, 6):  # early and part-way into the reply (a plain status or the stream's last event)
        app_env.cut_next_stream(after=after)
        status, headers, answer = call(api + "/chat/stream", {"message": "my name is Ada"}, token)
        assert _failure_status(status, headers, answer) == 502 and "conversation_id" not in json.dumps(answer)
    assert _conversations(app_env) == [first["conversation_id"]]
    # The conversation that was cut goes on where it was.
    status, _, second = call(api + "/chat", body, token)
    assert (status, second["reply"]) == (200, "Your name is Ada.")


def test_a_connection_dropped_before_the_answer_is_a_502_and_leaves_no_conversation(
    app_env: FakeFoundry, issuer: Issuer, api: str
) -> None:
    app_env.drop_next(times=10)
    status, _, body = call(api + "/chat", {"message": "hello"}, issuer.token())
    assert status == 502 and "did not arrive complete" in body["detail"]
    assert _conversations(app_env) == []


def _failure_status(status: int, headers: dict[str, str], answer: Any) -> int:
    # A failure before the first text is the HTTP status; after it, the stream's last event (`error`) carries it.
    if status != 200:
        return status
    name, data = events(answer)[-1]
    return int(data["status"]) if name == "error" else 200


def _conversations(app_env: FakeFoundry) -> list[str]:
    import os
    import sqlite3

    with sqlite3.connect(os.environ["APP_STATE_PATH"]) as db:
        return [row[0] for row in db.execute("SELECT id FROM api_conversations ORDER BY created")]
{%- if cookiecutter.runtime == "responses" %}


def test_a_conversation_gone_from_the_service_is_a_404_then_starts_over(
    app_env: FakeFoundry, issuer: Issuer, api: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from {{ cookiecutter.package }} import chat

    monkeypatch.setattr(chat, "NOT_FOUND_RETRY_DELAYS", (0.01, 0.01, 0.01))
    token = issuer.token()
    _, _, first = call(api + "/chat", {"message": "my name is Ada"}, token)
    body = {"conversation_id": first["conversation_id"], "message": "what is my name?"}
    app_env.runtime.transient_misses = 10  # intermittently not found, though it exists: 503, unchanged
    status, _, _ = call(api + "/chat", body, token)
    assert status == 503
    app_env.runtime.transient_misses = 0
    app_env.runtime.stored.clear()  # now really gone
    status, _, gone = call(api + "/chat", body, token)
    assert status == 404 and "no longer on the model service" in gone["detail"]
    status, _, again = call(api + "/chat", body, token)
    assert (status, again["reply"]) == (200, "I don't know your name yet.")
{%- endif %}
