"""Chat with the agent, as it goes over the wire: project endpoint, agent reference, server-side conversation."""

from __future__ import annotations

from pathlib import Path

import fake_service
import pytest
from conftest import BEARER
from fake_foundry import KEEP_CALLING, FakeFoundry, Turn

from {{ cookiecutter.package }}.agent import DEFAULT_AGENT_NAME, declared_agent, project_client, sync
from {{ cookiecutter.package }}.chat import INTERRUPTED, AgentChat, make_service
from {{ cookiecutter.package }}.cli import main
from {{ cookiecutter.package }}.errors import ServiceError
from {{ cookiecutter.package }}.settings import load_settings

RESPONSES = fake_service.RESPONSES
CONVERSATIONS = fake_service.CONVERSATIONS
AGENT_REFERENCE = {"name": DEFAULT_AGENT_NAME, "type": "agent_reference"}


def test_turns_run_the_agent_by_reference_on_one_server_conversation(service: AgentChat, app_env: FakeFoundry) -> None:
    first = service.reply(None, "Hello, my name is Ada")
    second = service.reply(first.conversation_id, "What is my name?")
    assert second.text == "Your name is Ada."

    (created,) = app_env.calls("POST", CONVERSATIONS)
    assert created.path == f"{fake_service.PROJECT_PATH}/openai/v1/conversations"
    assert first.conversation_id == created.answer.body["id"]  # type: ignore[union-attr]
    one, two = app_env.calls("POST", RESPONSES)
    for request in (one, two):
        assert request.path == f"{fake_service.PROJECT_PATH}/openai/v1/responses"
        assert request.query == {}  # the v1 OpenAI surface takes no api-version
        assert request.body["agent_reference"] == AGENT_REFERENCE
        assert request.body["conversation"] == first.conversation_id
        assert "model" not in request.body and "previous_response_id" not in request.body
        assert "instructions" not in request.body and "tools" not in request.body  # they belong to the agent
        assert request.authorization == BEARER
    assert two.body["input"] == "What is my name?"  # only the new message: the history stays on the service


def test_the_service_keeps_the_whole_conversation(service: AgentChat, app_env: FakeFoundry) -> None:
    first = service.reply(None, "my name is Ada")
    service.reply(first.conversation_id, "calculate 6*7")
    turns = app_env.runtime.conversations[first.conversation_id].turns
    assert [t.role for t in turns] == ["user", "assistant", "user", "tool_call", "tool", "assistant"]


def test_tool_round_trip_on_the_wire(service: AgentChat, app_env: FakeFoundry) -> None:
    reply = service.reply(None, "calculate (2 + 3) * 4")
    assert reply.text == "The calculate tool says: 20"
    asked, answered = app_env.calls("POST", RESPONSES)
    call = next(i for i in asked.answer.body["output"] if i["type"] == "function_call")  # type: ignore[union-attr]
    assert call["name"] == "calculate"
    assert answered.body["input"] == [{"type": "function_call_output", "call_id": call["call_id"], "output": "20"}]
    assert answered.body["conversation"] == reply.conversation_id
    assert answered.body["agent_reference"] == AGENT_REFERENCE


def test_parallel_tool_calls_are_answered_together(service: AgentChat, app_env: FakeFoundry) -> None:
    reply = service.reply(None, "calculate 2+2 and 3*3")
    assert reply.text == "The calculate tool says: 4; The calculate tool says: 9"
    asked, answered = app_env.calls("POST", RESPONSES)
    calls = [i["call_id"] for i in asked.response["output"] if i["type"] == "function_call"]
    assert len(calls) == 2
    assert answered.body["input"] == [
        {"type": "function_call_output", "call_id": calls[0], "output": "4"},
        {"type": "function_call_output", "call_id": calls[1], "output": "9"},
    ]


def test_streaming_sends_stream_true_and_runs_tools(service: AgentChat, app_env: FakeFoundry) -> None:
    stream = service.stream(None, "calculate 2**5")
    deltas = list(stream)
    assert "".join(deltas) == "The calculate tool says: 32" and len(deltas) > 1
    bodies = [r.body for r in app_env.calls("POST", RESPONSES)]
    assert len(bodies) == 2 and all(b["stream"] is True and b["agent_reference"] == AGENT_REFERENCE for b in bodies)


def test_a_named_conversation_maps_to_one_server_conversation(service: AgentChat, app_env: FakeFoundry) -> None:
    assert service.reply("support-42", "my name is Ada").conversation_id == "support-42"
    assert service.reply("support-42", "what is my name?").text == "Your name is Ada."
    (created,) = app_env.calls("POST", CONVERSATIONS)
    server_id = created.answer.body["id"]  # type: ignore[union-attr]
    assert {r.body["conversation"] for r in app_env.calls("POST", RESPONSES)} == {server_id}
    # The name was looked up once on the service (it is not a service id), then remembered locally.
    assert [r.path.rsplit("/", 1)[1] for r in app_env.calls("GET", CONVERSATIONS + "/.*")] == ["support-42"]


def test_a_server_id_from_elsewhere_continues(
    app_env: FakeFoundry, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    first = make_service(load_settings()).reply(None, "my name is Lin")
    monkeypatch.setenv("APP_STATE_PATH", str(tmp_path / "another-machine.sqlite3"))  # nothing known locally
    again = make_service(load_settings()).reply(first.conversation_id, "what is my name?")
    assert (again.conversation_id, again.text) == (first.conversation_id, "Your name is Lin.")
    assert len(app_env.calls("POST", CONVERSATIONS)) == 1


def test_the_cli_continues_a_server_conversation_across_runs(
    app_env: FakeFoundry, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["chat", "my name is Ada"]) == 0
    conversation = capsys.readouterr().err.strip().removeprefix("conversation: ")
    assert conversation in app_env.runtime.conversations
    assert main(["chat", "--conversation", conversation, "what is my name?"]) == 0
    assert capsys.readouterr().out == "Your name is Ada.\n"


def test_chat_runs_the_latest_version_after_a_sync(app_env: FakeFoundry, monkeypatch: pytest.MonkeyPatch) -> None:
    service = make_service(load_settings())
    assert service.reply(None, "what are your instructions?").text.startswith("My instructions: ")
    monkeypatch.setenv("APP_INSTRUCTIONS", "Answer in French.")
    settings = load_settings()
    project = project_client(settings)
    sync(project, declared_agent(settings, project), settings)
    assert service.reply(None, "what are your instructions?").text == "My instructions: Answer in French."


def test_a_pinned_version_runs_instead_of_the_latest(app_env: FakeFoundry, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_INSTRUCTIONS", "Answer in French.")
    settings = load_settings()
    project = project_client(settings)
    sync(project, declared_agent(settings, project), settings)  # version 2, over the seeded version 1
    monkeypatch.setenv("APP_AGENT_VERSION", "1")
    reply = make_service(load_settings()).reply(None, "what are your instructions?")
    assert reply.text == "My instructions: You are a helpful assistant."
    assert app_env.calls("POST", RESPONSES)[-1].body["agent_reference"] == {**AGENT_REFERENCE, "version": "1"}
    monkeypatch.setenv("APP_AGENT_VERSION", "")
    assert make_service(load_settings()).reply(None, "what are your instructions?").text == (
        "My instructions: Answer in French.")


def test_a_missing_agent_says_to_run_agent_sync(app_env: FakeFoundry, capsys: pytest.CaptureFixture[str]) -> None:
    app_env.runtime.agents.clear()
    assert main(["chat", "hello"]) == 1
    err = capsys.readouterr().err
    assert "404" in err and "agent sync" in err and DEFAULT_AGENT_NAME in err and err.count("\n") == 1


def test_an_unknown_server_conversation_is_a_clear_error(service: AgentChat, app_env: FakeFoundry) -> None:
    app_env.runtime.conversations.clear()
    first = service.reply(None, "hello")
    app_env.runtime.conversations.clear()  # deleted on the service (expired, or removed in the portal)
    with pytest.raises(ServiceError, match=r"404.*Conversation with id") as err:
        service.reply(first.conversation_id, "hello again")
    assert err.value.status == 404


def test_throttled_conversation_start_is_retried(service: AgentChat, app_env: FakeFoundry) -> None:
    app_env.fail_next(times=2)
    assert service.reply(None, "my name is Ada").text == "Nice to meet you, Ada."
    assert [(r.path.rsplit("/", 1)[1], r.status) for r in app_env.requests] == [
        ("conversations", 429), ("conversations", 429), ("conversations", 200), ("responses", 200),
    ]


def test_a_turn_interrupted_after_a_tool_call_does_not_block_the_conversation(
    service: AgentChat, app_env: FakeFoundry
) -> None:
    first = service.reply(None, "my name is Ada")
    # The agent asked for a tool, then the app stopped before sending the output (throttled past the retries,
    # network gone, Ctrl-C): the service now waits for that output before it takes another message.
    app_env.runtime.conversations[first.conversation_id].turns.append(
        Turn("tool_call", '{"expression": "1+1"}', name="calculate", call_id="call_interrupted")
    )
    before = len(app_env.requests)
    assert service.reply(first.conversation_id, "what is my name?").text == "Your name is Ada."
    refused, listed, sent = app_env.requests[before:]
    assert refused.status == 400 and listed.method == "GET" and listed.path.endswith("/items")
    assert sent.body["input"] == [
        {"type": "function_call_output", "call_id": "call_interrupted", "output": INTERRUPTED},
        {"role": "user", "content": "what is my name?"},
    ]
    assert service.reply(first.conversation_id, "calculate 2+2").text == "The calculate tool says: 4"


def recorded_names() -> list[tuple[str, str]]:
    import sqlite3

    with sqlite3.connect(load_settings().app_state_path) as db:
        return db.execute("SELECT name, conversation_id FROM conversation_names ORDER BY name").fetchall()


@pytest.mark.parametrize("streaming", [False, True], ids=["reply", "stream"])
def test_a_failed_first_turn_leaves_no_conversation_behind(
    service: AgentChat, app_env: FakeFoundry, streaming: bool
) -> None:
    app_env.runtime.agents.clear()  # the turn fails: no agent yet (`agent sync` not run)
    with pytest.raises(ServiceError, match="agent sync"):
        if streaming:
            "".join(service.stream(None, "hello"))
        else:
            service.reply(None, "hello")
    (created,) = app_env.calls("POST", CONVERSATIONS)
    (deleted,) = app_env.calls("DELETE", CONVERSATIONS + "/.*")
    assert deleted.path.endswith("/" + created.response["id"]) and deleted.status == 200
    assert app_env.runtime.conversations == {}
    assert recorded_names() == []


def test_a_failed_first_turn_of_a_named_conversation_forgets_the_name(
    service: AgentChat, app_env: FakeFoundry
) -> None:
    app_env.runtime.agents.clear()
    with pytest.raises(ServiceError, match="agent sync"):
        service.reply("support-7", "my name is Ada")
    assert app_env.runtime.conversations == {} and recorded_names() == []
    app_env.runtime.seed()
    assert service.reply("support-7", "my name is Ada").text == "Nice to meet you, Ada."
    assert service.reply("support-7", "what is my name?").text == "Your name is Ada."
    assert len(app_env.runtime.conversations) == 1


def test_a_failed_later_turn_keeps_the_conversation(service: AgentChat, app_env: FakeFoundry) -> None:
    first = service.reply(None, "my name is Ada")
    app_env.fail_next(times=3)
    with pytest.raises(ServiceError, match="429"):
        service.reply(first.conversation_id, "what is my name?")
    assert app_env.calls("DELETE", CONVERSATIONS + "/.*") == []
    assert service.reply(first.conversation_id, "what is my name?").text == "Your name is Ada."


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
