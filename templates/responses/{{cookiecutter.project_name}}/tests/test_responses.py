"""What goes over the wire to the Responses API: only new input plus previous_response_id, tool outputs by call_id."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from fake_foundry import FILTERED_REPLY, KEEP_CALLING, LONG_REPLY, FakeFoundry
from fake_service import DEPLOYMENT, FAIL_PHRASE, RESPONSES

from {{ cookiecutter.package }} import chat
from {{ cookiecutter.package }}.chat import make_service
from {{ cookiecutter.package }}.errors import ContentFilterError, ServiceError
from {{ cookiecutter.package }}.service import TRUNCATED_NOTE, ChatService
from {{ cookiecutter.package }}.settings import load_settings
from {{ cookiecutter.package }}.store import ResponseIdStore
from {{ cookiecutter.package }}.tools import TOOLS


@pytest.fixture(autouse=True)
def quick_not_found_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same number of retries, with short waits: the tests count attempts, not seconds."""
    monkeypatch.setattr(chat, "NOT_FOUND_RETRY_DELAYS", (0.01, 0.02, 0.04))


def last_response_id(conversation_id: str) -> str | None:
    store = ResponseIdStore(load_settings().app_state_path)
    try:
        return store.get(conversation_id)
    finally:
        store.close()


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


def test_expired_conversation_is_reset_with_a_clear_message(app_env: FakeFoundry, service: ChatService) -> None:
    first = service.reply(None, "my name is Ada")
    gone = last_response_id(first.conversation_id)
    app_env.runtime.stored.clear()  # the service no longer has the stored responses
    with pytest.raises(ServiceError, match="no longer on the service") as err:
        service.reply(first.conversation_id, "what is my name?")
    assert err.value.status == 404
    attempts = app_env.calls("POST", RESPONSES)[1:]
    assert len(attempts) == 1 + len(chat.NOT_FOUND_RETRY_DELAYS) and {r.status for r in attempts} == {400}
    # Forgotten only after the service confirmed that the conversation's last response is gone.
    (confirmed,) = app_env.calls("GET", RESPONSES + "/.*")
    assert confirmed.path.endswith(f"/{gone}") and confirmed.status == 404
    assert last_response_id(first.conversation_id) is None
    assert service.reply(first.conversation_id, "what is my name?").text == "I don't know your name yet."


def test_a_transient_previous_response_not_found_is_retried(app_env: FakeFoundry, service: ChatService) -> None:
    first = service.reply(None, "my name is Ada")
    app_env.runtime.transient_misses = 2  # Azure's intermittent error for a response that exists
    assert service.reply(first.conversation_id, "what is my name?").text == "Your name is Ada."
    attempts = app_env.calls("POST", RESPONSES)[1:]
    assert [r.status for r in attempts] == [400, 400, 200]
    assert {r.body["previous_response_id"] for r in attempts} == {attempts[0].body["previous_response_id"]}


def test_a_missing_in_turn_response_never_forgets_the_conversation(
    app_env: FakeFoundry, service: ChatService
) -> None:
    first = service.reply(None, "my name is Ada")
    kept = last_response_id(first.conversation_id)
    app_env.runtime.miss_after_tool_calls = True  # chaining from the tool round's response keeps failing
    with pytest.raises(ServiceError, match="this turn's own previous response") as err:
        service.reply(first.conversation_id, "calculate 1+1")
    assert "\n" not in str(err.value)
    assert app_env.calls("GET", RESPONSES + "/.*") == []  # the conversation's own response was never in doubt
    assert last_response_id(first.conversation_id) == kept
    app_env.runtime.miss_after_tool_calls = False
    assert service.reply(first.conversation_id, "what is my name?").text == "Your name is Ada."


def test_a_last_response_the_service_still_has_is_not_forgotten(
    app_env: FakeFoundry, service: ChatService
) -> None:
    first = service.reply(None, "my name is Ada")
    kept = last_response_id(first.conversation_id)
    app_env.runtime.transient_misses = 1 + len(chat.NOT_FOUND_RETRY_DELAYS)  # every attempt of the turn
    with pytest.raises(ServiceError, match="intermittently") as err:
        service.reply(first.conversation_id, "what is my name?")
    assert err.value.status == 503
    (checked,) = app_env.calls("GET", RESPONSES + "/.*")
    assert checked.path.endswith(f"/{kept}") and checked.status == 200
    assert last_response_id(first.conversation_id) == kept
    assert service.reply(first.conversation_id, "what is my name?").text == "Your name is Ada."


@pytest.mark.parametrize("after", [None, 3], ids=["before-response.completed", "part-way"])
def test_a_cut_stream_does_not_move_the_conversation_on(
    app_env: FakeFoundry, service: ChatService, after: int | None
) -> None:
    first = service.reply(None, "my name is Ada")
    kept = last_response_id(first.conversation_id)
    app_env.cut_next_stream(after)
    with pytest.raises(ServiceError, match="stream ended before"):
        "".join(service.stream(first.conversation_id, "my name is Bob"))
    assert last_response_id(first.conversation_id) == kept  # the service stored Bob's turn; the chain skips it
    assert service.reply(first.conversation_id, "what is my name?").text == "Your name is Ada."


@pytest.mark.parametrize("streaming", [False, True], ids=["reply", "stream"])
def test_a_filtered_reply_does_not_move_the_conversation_on(
    app_env: FakeFoundry, service: ChatService, streaming: bool
) -> None:
    first = service.reply(None, "my name is Ada")
    kept = last_response_id(first.conversation_id)
    with pytest.raises(ContentFilterError):
        if streaming:
            "".join(service.stream(first.conversation_id, FILTERED_REPLY))
        else:
            service.reply(first.conversation_id, FILTERED_REPLY)
    assert app_env.calls("POST", RESPONSES)[-1].response["incomplete_details"] == {"reason": "content_filter"}
    assert last_response_id(first.conversation_id) == kept


@pytest.mark.parametrize("streaming", [False, True], ids=["reply", "stream"])
def test_a_reply_cut_at_the_token_limit_is_kept_on_the_chain(
    app_env: FakeFoundry, service: ChatService, streaming: bool
) -> None:
    first = service.reply(None, "my name is Ada")
    if streaming:
        text = "".join(service.stream(first.conversation_id, LONG_REPLY))
    else:
        text = service.reply(first.conversation_id, LONG_REPLY).text
    assert text.endswith(TRUNCATED_NOTE)
    cut = app_env.calls("POST", RESPONSES)[-1].response
    assert cut["status"] == "incomplete" and cut["incomplete_details"] == {"reason": "max_output_tokens"}
    assert last_response_id(first.conversation_id) == cut["id"]  # "continue" picks it up


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
    with pytest.raises(ServiceError, match="moved on while this turn ran") as err:
        service.reply(first.conversation_id, "and again")
    assert err.value.status == 409  # a conflict: the API answers 409


@pytest.mark.parametrize("streaming", [False, True], ids=["reply", "stream"])
def test_a_model_that_keeps_calling_tools_is_stopped_with_one_line(app_env: FakeFoundry, streaming: bool) -> None:
    service = make_service(load_settings())
    with pytest.raises(ServiceError, match="still calling tools after 8 rounds") as err:
        if streaming:
            "".join(service.stream(None, KEEP_CALLING))
        else:
            service.reply(None, KEEP_CALLING)
    assert "\n" not in str(err.value)
    asked = [r for r in app_env.requests if r.method == "POST" and r.path.endswith("/responses")]
    assert len(asked) == 9  # the first request and 8 rounds of tool outputs, then it gives up
