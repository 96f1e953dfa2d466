"""What goes over the wire to the Responses API: only new input plus previous_response_id, tool outputs by call_id."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from fake_foundry import FakeFoundry
from fake_service import DEPLOYMENT, FAIL_PHRASE, RESPONSES

from {{ cookiecutter.package }}.chat import make_service
from {{ cookiecutter.package }}.errors import ServiceError
from {{ cookiecutter.package }}.service import ChatService
from {{ cookiecutter.package }}.settings import load_settings
from {{ cookiecutter.package }}.store import ResponseIdStore
from {{ cookiecutter.package }}.tools import TOOLS


def test_second_turn_sends_previous_response_id_and_only_the_new_message(
    app_env: FakeFoundry, service: ChatService
) -> None:
    first = service.reply(None, "my name is Ada")
    service.reply(first.conversation_id, "what is my name?")
    one, two = app_env.calls("POST", RESPONSES)
    assert "previous_response_id" not in one.body
    assert one.body["input"] == [{"role": "user", "content": "my name is Ada"}]
    assert two.body["previous_response_id"] == one.response["id"]
    assert two.body["input"] == [{"role": "user", "content": "what is my name?"}]
    assert "Ada" not in str(two.body)  # history stays on the service
    for body in (one.body, two.body):
        assert body["model"] == DEPLOYMENT and body["store"] is True and body["truncation"] == "auto"
        assert body["instructions"]  # not inherited through previous_response_id, so sent every turn


def test_tool_output_is_sent_back_by_call_id(app_env: FakeFoundry, service: ChatService) -> None:
    service.reply(None, "calculate 6*7")
    asked, answered = app_env.calls("POST", RESPONSES)
    call = next(item for item in asked.response["output"] if item["type"] == "function_call")
    assert call["name"] == "calculate"
    assert answered.body["previous_response_id"] == asked.response["id"]
    assert answered.body["input"] == [{"type": "function_call_output", "call_id": call["call_id"], "output": "42"}]
    # Derived from TOOLS: a tool added there (as the README invites) is sent too, and this test still holds.
    assert {t["name"] for t in answered.body["tools"] if t["type"] == "function"} == set(TOOLS)


def test_parallel_tool_calls_are_all_answered(app_env: FakeFoundry, service: ChatService) -> None:
    reply = service.reply(None, "calculate 1+1 and 2*3")
    assert reply.text == "The calculate tool says: 2; The calculate tool says: 6"
    asked, answered = app_env.calls("POST", RESPONSES)
    call_ids = [item["call_id"] for item in asked.response["output"] if item["type"] == "function_call"]
    assert len(call_ids) == 2
    assert [item["call_id"] for item in answered.body["input"]] == call_ids
    assert [item["output"] for item in answered.body["input"]] == ["2", "6"]


def test_failed_response_in_a_stream_is_one_clear_error(app_env: FakeFoundry, service: ChatService) -> None:
    first = service.reply(None, "my name is Ada")
    with pytest.raises(ServiceError, match="could not finish the response: The model could not finish"):
        "".join(service.stream(first.conversation_id, FAIL_PHRASE))
    assert service.reply(first.conversation_id, "what is my name?").text == "Your name is Ada."


def test_failed_response_without_streaming_is_one_clear_error(app_env: FakeFoundry, service: ChatService) -> None:
    with pytest.raises(ServiceError, match="500"):
        service.reply(None, FAIL_PHRASE)
    assert [r.status for r in app_env.requests] == [500, 500, 500]  # server errors are retried too


def test_streamed_turns_chain_the_same_way(app_env: FakeFoundry, service: ChatService) -> None:
    first = service.stream(None, "calculate 1+1")
    assert "".join(first) == "The calculate tool says: 2"
    second = service.stream(first.conversation_id, "my name is Ada")
    assert "".join(second) == "Nice to meet you, Ada."
    asked, answered, next_turn = app_env.calls("POST", RESPONSES)
    assert all(r.body["stream"] is True for r in (asked, answered, next_turn))
    assert answered.body["previous_response_id"] == asked.response["id"]
    assert next_turn.body["previous_response_id"] == answered.response["id"]
    assert next_turn.body["input"] == [{"role": "user", "content": "my name is Ada"}]


def test_store_keeps_only_the_last_response_id(app_env: FakeFoundry, service: ChatService) -> None:
    first = service.reply(None, "my name is Ada")
    service.reply(first.conversation_id, "calculate 2+2")
    last = app_env.calls("POST", RESPONSES)[-1].response["id"]
    settings = load_settings()
    with sqlite3.connect(settings.app_state_path) as db:
        rows = db.execute("SELECT id, last_response_id FROM conversations").fetchall()
    assert rows == [(first.conversation_id, last)]
    with open(settings.app_state_path, "rb") as raw:
        assert b"Ada" not in raw.read()


def test_builtin_tools_follow_the_settings(app_env: FakeFoundry, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_FILE_SEARCH_VECTOR_STORE_IDS", "vs_one, vs_two")
    monkeypatch.setenv("APP_CODE_INTERPRETER", "true")
    make_service(load_settings()).reply(None, "hello")
    tools = app_env.calls("POST", RESPONSES)[0].body["tools"]
    assert {"type": "file_search", "vector_store_ids": ["vs_one", "vs_two"]} in tools
    assert {"type": "code_interpreter", "container": {"type": "auto"}} in tools


def test_builtin_tools_are_off_by_default(app_env: FakeFoundry, service: ChatService) -> None:
    service.reply(None, "hello")
    assert {t["type"] for t in app_env.calls("POST", RESPONSES)[0].body["tools"]} == {"function"}


def test_expired_conversation_is_reset_with_a_clear_message(app_env: FakeFoundry, service: ChatService) -> None:
    first = service.reply(None, "my name is Ada")
    app_env.runtime.stored.clear()  # the service no longer has the stored responses
    with pytest.raises(ServiceError, match="no longer on the service"):
        service.reply(first.conversation_id, "what is my name?")
    assert service.reply(first.conversation_id, "what is my name?").text == "I don't know your name yet."


def test_unknown_deployment_names_the_setting(app_env: FakeFoundry, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_AI_MODEL_DEPLOYMENT", "no-such-deployment")
    with pytest.raises(ServiceError, match="AZURE_AI_MODEL_DEPLOYMENT"):
        make_service(load_settings()).reply(None, "hello")


def test_store_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "state.sqlite3"
    store = ResponseIdStore(path)
    assert store.get("c") is None
    store.set("c", "resp_1")
    store.set("c", "resp_2")
    assert not store.advance("c", "resp_1", "resp_x")  # stale: another turn already moved it
    assert store.advance("c", "resp_2", "resp_3")
    assert not store.advance("new", "resp_9", "resp_10") and store.advance("new", None, "resp_10")
    assert not store.advance("new", None, "resp_11")
    store.close()
    reopened = ResponseIdStore(path)
    assert reopened.get("c") == "resp_3"
    reopened.forget("c")
    assert reopened.get("c") is None


def test_a_turn_racing_another_on_the_same_conversation_fails_loudly(app_env: FakeFoundry, tmp_path: Path) -> None:
    class Racing(ResponseIdStore):
        """Another request finishes a turn on the conversation right after this turn read it."""

        def get(self, conversation_id: str) -> str | None:
            current = super().get(conversation_id)
            self.set(conversation_id, "resp_from_another_request")
            return current

    service = make_service(load_settings())
    first = service.reply(None, "hello")
    service._store = Racing(load_settings().app_state_path)
    with pytest.raises(ServiceError, match="moved on while this turn ran"):
        service.reply(first.conversation_id, "and again")
