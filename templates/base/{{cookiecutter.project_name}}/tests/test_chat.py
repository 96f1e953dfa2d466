"""The chat service end to end against the fake service: multi-turn, tools, streaming, throttling."""

from __future__ import annotations

import socket
from datetime import UTC, datetime

import fake_service
import pytest
from fake_foundry import FakeFoundry

from {{ cookiecutter.package }}.chat import make_service
from {{ cookiecutter.package }}.errors import ServiceError
from {{ cookiecutter.package }}.service import ChatService
from {{ cookiecutter.package }}.settings import load_settings


def test_two_turn_conversation(service: ChatService) -> None:
    first = service.reply(None, "Hello, my name is Ada")
    assert first.text == "Nice to meet you, Ada."
    second = service.reply(first.conversation_id, "What is my name?")
    assert second.conversation_id == first.conversation_id
    assert second.text == "Your name is Ada."


def test_conversations_do_not_mix(service: ChatService) -> None:
    ada = service.reply(None, "my name is Ada")
    other = service.reply(None, "what is my name?")
    assert other.conversation_id != ada.conversation_id
    assert other.text == "I don't know your name yet."


def test_conversation_survives_a_new_service(app_env: FakeFoundry) -> None:
    first = make_service(load_settings()).reply("kept", "my name is Lin")
    again = make_service(load_settings()).reply(first.conversation_id, "what is my name?")
    assert again.text == "Your name is Lin."


def test_tool_round_trip_calculator(service: ChatService) -> None:
    assert service.reply(None, "calculate (2 + 3) * 4").text == "The calculate tool says: 20"


def test_tool_round_trip_clock(service: ChatService) -> None:
    text = service.reply(None, "What time is it?").text
    prefix = "The get_current_time tool says: "
    assert text.startswith(prefix)
    told = datetime.fromisoformat(text.removeprefix(prefix))
    assert abs((datetime.now(UTC) - told).total_seconds()) < 60


def test_tool_then_more_turns(service: ChatService) -> None:
    first = service.reply(None, "my name is Ada")
    assert service.reply(first.conversation_id, "calculate 6*7").text == "The calculate tool says: 42"
    assert service.reply(first.conversation_id, "what is my name?").text == "Your name is Ada."


def test_streaming_yields_deltas_and_continues(service: ChatService) -> None:
    stream = service.stream(None, "my name is Grace")
    deltas = list(stream)
    assert len(deltas) > 1
    assert "".join(deltas) == stream.text == "Nice to meet you, Grace."
    assert service.reply(stream.conversation_id, "what is my name?").text == "Your name is Grace."


def test_streaming_with_a_tool_call(service: ChatService) -> None:
    stream = service.stream(None, "calculate 2**10")
    assert "".join(stream) == "The calculate tool says: 1024"


def test_throttling_is_retried(app_env: FakeFoundry, service: ChatService) -> None:
    app_env.fail_next(times=2)  # APP_MAX_RETRIES=2 in the test environment
    assert service.reply(None, "my name is Ada").text == "Nice to meet you, Ada."
    assert [r.status for r in app_env.requests][:3] == [429, 429, 200]


def test_throttling_after_retries_is_one_clear_error(app_env: FakeFoundry, service: ChatService) -> None:
    app_env.fail_next(times=10)
    with pytest.raises(ServiceError) as err:
        service.reply(None, "hello")
    assert err.value.status == 429
    message = str(err.value)
    assert "429" in message and "try again in 7s" in message and "\n" not in message
    assert err.value.retry_after == 7  # the fake's Retry-After, passed on to the API's clients
    assert [r.status for r in app_env.requests] == [429, 429, 429]


def test_throttled_turn_leaves_the_conversation_where_it_was(app_env: FakeFoundry, service: ChatService) -> None:
    first = service.reply(None, "my name is Ada")
    app_env.fail_next(times=3)  # the first try and both retries
    with pytest.raises(ServiceError):
        service.reply(first.conversation_id, "my name is Bob")
    assert service.reply(first.conversation_id, "what is my name?").text == "Your name is Ada."


def test_unreachable_endpoint_is_one_clear_error(app_env: FakeFoundry, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as sock:  # a port nobody listens on once this closes
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    for name, value in fake_service.app_env(app_env).items():
        monkeypatch.setenv(name, value.replace(app_env.url, closed))
    monkeypatch.setenv("APP_MAX_RETRIES", "0")
    with pytest.raises(ServiceError, match="cannot reach"):
        make_service(load_settings()).reply(None, "hello")
