"""The HTTP API served by uvicorn on 127.0.0.1, called over real HTTP."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from fake_foundry import FILTERED_PROMPT, FakeFoundry

from {{ cookiecutter.package }}.api import create_app


@pytest.fixture
def api() -> Iterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_app(), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join(10)


def call(url: str, body: dict[str, Any] | None = None) -> tuple[int, dict[str, str], Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), json.load(exc)


def test_healthz_needs_no_settings(api: str) -> None:
    status, _, body = call(api + "/healthz")
    assert (status, body) == (200, {"status": "ok"})


def test_two_turns_over_http(app_env: FakeFoundry, api: str) -> None:
    status, _, first = call(api + "/chat", {"message": "my name is Ada"})
    assert status == 200 and first["reply"] == "Nice to meet you, Ada."
    conversation = first["conversation_id"]
    status, _, second = call(api + "/chat", {"conversation_id": conversation, "message": "what is my name?"})
    assert (status, second) == (200, {"conversation_id": conversation, "reply": "Your name is Ada."})


def test_tool_round_trip_over_http(app_env: FakeFoundry, api: str) -> None:
    status, _, body = call(api + "/chat", {"conversation_id": "api-1", "message": "calculate 12/4"})
    assert (status, body) == (200, {"conversation_id": "api-1", "reply": "The calculate tool says: 3"})


def test_throttling_is_a_429_with_retry_after(app_env: FakeFoundry, api: str) -> None:
    app_env.fail_next(times=10)
    status, headers, body = call(api + "/chat", {"message": "hello"})
    assert status == 429 and "Retry-After" in {k.title() for k in headers}
    assert "429" in body["detail"]


def test_missing_settings_is_a_500_naming_them(api: str) -> None:
    status, _, body = call(api + "/chat", {"message": "hello"})
    assert status == 500 and "missing setting(s)" in body["detail"]


def test_empty_message_is_rejected(app_env: FakeFoundry, api: str) -> None:
    status, _, _ = call(api + "/chat", {"message": ""})
    assert status == 422
    assert app_env.requests == []


def test_a_filtered_prompt_is_a_400(app_env: FakeFoundry, api: str) -> None:
    status, _, body = call(api + "/chat", {"message": FILTERED_PROMPT})
    assert status == 400 and "content filter" in body["detail"]
