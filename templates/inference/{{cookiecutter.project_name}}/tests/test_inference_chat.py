"""Chat completions end to end: the real openai client and azure-identity over HTTP against the local fake Foundry.

Checks what goes over the wire: each request carries the whole trimmed history (the service keeps none),
tool calls come back with their outputs, a bearer token from the managed-identity endpoint, no key.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from fake_foundry import FILTERED_REPLY, KEEP_CALLING, LONG_REPLY, FakeFoundry, Recorded
from fake_service import AUDIENCE, CHAT_COMPLETIONS, DEPLOYMENTS, MISTRAL_CALL_ID

from {{ cookiecutter.package }}.chat import InferenceChat, make_service
from {{ cookiecutter.package }}.errors import ContentFilterError, ServiceError, SettingsError
from {{ cookiecutter.package }}.service import TRUNCATED_NOTE
from {{ cookiecutter.package }}.settings import load_settings
from {{ cookiecutter.package }}.state import (
    MAX_TOOL_ROUNDS,
    SQLiteConversationStore,
    estimate_tokens,
    open_store,
    trim_messages,
)
from {{ cookiecutter.package }}.tools import TOOLS

# Fixtures (tests/conftest.py): `app_env` is the fake Foundry with the app's settings pointing at it and
# tokens from its managed-identity endpoint; `service` is the chat service built from those settings.


def chat_calls(server: FakeFoundry) -> list[Recorded]:
    return server.calls("POST", CHAT_COMPLETIONS)


def test_second_turn_sends_the_whole_history(app_env: FakeFoundry, service: InferenceChat) -> None:
    server, chat = app_env, service
    first = chat.reply(None, "My name is Ada")
    second = chat.reply(first.conversation_id, "What is my name?")
    assert (first.text, second.text) == ("Nice to meet you, Ada.", "Your name is Ada.")

    calls = chat_calls(server)
    assert len(calls) == 2
    system = {"role": "system", "content": load_settings().app_instructions}
    assert calls[1].body["messages"] == [
        system,
        {"role": "user", "content": "My name is Ada"},
        {"role": "assistant", "content": "Nice to meet you, Ada."},
        {"role": "user", "content": "What is my name?"},
    ]
    for call in calls:
        assert call.body["model"] == DEPLOYMENTS[0]
        assert call.authorization == f"Bearer fake-token-for:{AUDIENCE}"
        assert call.query == {}, "the v1 surface takes no api-version"
        assert "api-key" not in call.headers
        # Derived from TOOLS: a tool added there (as the README invites) is sent too, and this test still holds.
        assert [t["function"]["name"] for t in call.body["tools"]] == [*TOOLS{% if 'file-search' in cookiecutter.tools %}, "search_files"{% endif %}]


def test_history_is_trimmed_to_the_token_budget(app_env: FakeFoundry, monkeypatch: pytest.MonkeyPatch) -> None:
    server = app_env
    budget = 120
    monkeypatch.setenv("APP_CONTEXT_TOKENS", str(budget))
    settings = load_settings()
    chat = make_service(settings)
    conversation = chat.reply(None, "My name is Ada").conversation_id
    for i in range(6):
        chat.reply(conversation, f"Tell me about topic number {i}, please")
    stored = open_store(settings.app_state_path).load(conversation)
    chat.reply(conversation, "What is my name?")

    sent = chat_calls(server)[-1].body["messages"]
    system = {"role": "system", "content": settings.app_instructions}
    assert sent == trim_messages([system, *stored, {"role": "user", "content": "What is my name?"}], budget)
    assert sent[0] == system and sent[1]["role"] == "user", "system prompt kept, then whole turns"
    assert 3 < len(sent) < len(stored) + 2, "old turns dropped, recent ones kept"
    assert sum(estimate_tokens(m) for m in sent) <= budget
    assert chat.reply(conversation, "What is my name?").text == "I don't know your name yet."


@pytest.mark.parametrize("streaming", [False, True], ids=["json", "stream"])
def test_tool_call_round_trip(app_env: FakeFoundry, service: InferenceChat, streaming: bool) -> None:
    server, chat = app_env, service
    if streaming:
        stream = chat.stream("conv-tools", "Calculate (2 + 3) * 4")
        text, conversation = "".join(stream), stream.conversation_id
    else:
        reply = chat.reply("conv-tools", "Calculate (2 + 3) * 4")
        text, conversation = reply.text, reply.conversation_id
    assert text == "The calculate tool says: 20"

    first, second = chat_calls(server)
    assert first.body.get("stream", False) is streaming
    *_, asked, output = second.body["messages"]
    assert asked["role"] == "assistant"
    (call,) = asked["tool_calls"]
    assert call["type"] == "function" and call["function"]["name"] == "calculate"
    assert json.loads(call["function"]["arguments"]) == {"expression": "(2 + 3) * 4"}
    assert output == {"role": "tool", "tool_call_id": call["id"], "content": "20"}
    history = open_store(load_settings().app_state_path).load(conversation)
    assert [m["role"] for m in history] == ["user", "assistant", "tool", "assistant"]
    assert history[1:3] == [asked, output]


@pytest.mark.parametrize("streaming", [False, True], ids=["json", "stream"])
def test_tools_off_sends_no_tools_and_says_so_once(
    app_env: FakeFoundry, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, streaming: bool
) -> None:
    server = app_env
    monkeypatch.setenv("APP_MODEL_TOOLS", "false")  # what `new` writes for a model that cannot call tools
    with caplog.at_level("WARNING"):
        chat = make_service(load_settings())
        for question in ("Calculate (2 + 3) * 4", "and again"):
            if streaming:
                assert "".join(chat.stream("conv-off", question))
            else:
                assert chat.reply("conv-off", question).text
    calls = chat_calls(server)
    assert len(calls) == 2, "no tool round: one request per turn"
    for call in calls:
        assert "tools" not in call.body and "tool_choice" not in call.body
    said = [r.getMessage() for r in caplog.records if "tools are off" in r.getMessage()]
    assert said == [f"tools are off for deployment '{DEPLOYMENTS[0]}' (APP_MODEL_TOOLS=false: its model cannot "
                    "call tools)"]


def test_streaming_yields_text_as_it_arrives(app_env: FakeFoundry, service: InferenceChat) -> None:
    server, chat = app_env, service
    stream = chat.stream(None, "hello there")
    deltas = list(stream)
    assert len(deltas) > 1 and "".join(deltas) == stream.text == "You said: hello there (user turn 1)"
    assert chat_calls(server)[0].body["stream"] is True
    again = chat.reply(stream.conversation_id, "and again")
    assert again.text == "You said: and again (user turn 2)"


def test_throttling_is_retried(app_env: FakeFoundry, service: InferenceChat) -> None:
    retries = load_settings().app_max_retries
    app_env.fail_next(retries, status=429)
    assert service.reply(None, "My name is Ada").text == "Nice to meet you, Ada."
    assert len(chat_calls(app_env)) == retries + 1


def test_persistent_throttling_is_one_clear_error_and_leaves_history_alone(
    app_env: FakeFoundry, service: InferenceChat
) -> None:
    server, chat, settings = app_env, service, load_settings()
    chat.reply("conv-429", "My name is Ada")
    before = open_store(settings.app_state_path).load("conv-429")
    server.fail_next(settings.app_max_retries + 1, status=429)
    with pytest.raises(ServiceError) as err:
        chat.reply("conv-429", "What is my name?")
    assert err.value.status == 429
    assert "429" in str(err.value) and DEPLOYMENTS[0] in str(err.value)
    assert open_store(settings.app_state_path).load("conv-429") == before
    assert chat.reply("conv-429", "What is my name?").text == "Your name is Ada.", "retrying later just works"


def test_switching_model_is_a_setting(app_env: FakeFoundry, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_AI_MODEL_DEPLOYMENT", DEPLOYMENTS[-1])
    assert make_service(load_settings()).reply(None, "My name is Ada").text == "Nice to meet you, Ada."
    assert chat_calls(app_env)[0].body["model"] == DEPLOYMENTS[-1]


def test_unknown_deployment_names_the_setting(app_env: FakeFoundry, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_AI_MODEL_DEPLOYMENT", "no-such-deployment")
    with pytest.raises(ServiceError, match="AZURE_AI_MODEL_DEPLOYMENT"):
        make_service(load_settings()).reply(None, "hi")


def test_deployment_removed_while_running_names_the_setting(app_env: FakeFoundry, service: InferenceChat) -> None:
    first = service.reply(None, "My name is Ada")
    app_env.runtime.deployments.discard(DEPLOYMENTS[0])  # e.g. a later `azd provision` dropped it
    with pytest.raises(ServiceError, match="AZURE_AI_MODEL_DEPLOYMENT"):
        service.reply(first.conversation_id, "What is my name?")


def test_context_overflow_points_at_the_budget(app_env: FakeFoundry, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_CONTEXT_TOKENS", "1000000")
    with pytest.raises(ServiceError, match="APP_CONTEXT_TOKENS"):
        make_service(load_settings()).reply(None, "x" * 250_000)


def test_missing_endpoint_is_named(app_env: FakeFoundry, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AZURE_OPENAI_ENDPOINT")
    with pytest.raises(SettingsError, match="AZURE_OPENAI_ENDPOINT"):
        make_service(load_settings())
    assert chat_calls(app_env) == []


def test_tool_call_ids_are_portable_across_providers() -> None:
    from {{ cookiecutter.package }}.chat import assistant_message, portable_call_id

    call: dict[str, Any] = {
        "id": "call_Zx81kq0AbCdEfGhIjKlMnOpQ", "type": "function", "function": {"name": "f", "arguments": "{}"}
    }
    stored = assistant_message(None, [call])["tool_calls"][0]["id"]
    assert re.fullmatch(r"[A-Za-z0-9]{9}", stored)  # what Mistral requires
    assert stored == portable_call_id(call["id"])  # deterministic
    assert portable_call_id("aB3dE5gH9") == "aB3dE5gH9"  # already portable: kept


def stored(conversation_id: str) -> list[dict[str, Any]]:
    return open_store(load_settings().app_state_path).load(conversation_id)


@pytest.mark.parametrize("streaming", [False, True], ids=["json", "stream"])
def test_a_reply_cut_at_the_token_limit_is_stored_marked(service: InferenceChat, streaming: bool) -> None:
    if streaming:
        text = "".join(service.stream("conv-long", LONG_REPLY))
    else:
        text = service.reply("conv-long", LONG_REPLY).text
    assert text.endswith(TRUNCATED_NOTE)
    # Resent on every later turn as history: marked there too, so the model does not take it for a whole answer.
    assert stored("conv-long")[-1] == {"role": "assistant", "content": "Essays have a long history. The first"
                                       + TRUNCATED_NOTE}


@pytest.mark.parametrize("streaming", [False, True], ids=["json", "stream"])
def test_a_filtered_reply_is_not_stored(service: InferenceChat, streaming: bool) -> None:
    service.reply("conv-filter", "My name is Ada")
    before = stored("conv-filter")
    with pytest.raises(ContentFilterError):
        if streaming:
            "".join(service.stream("conv-filter", FILTERED_REPLY))
        else:
            service.reply("conv-filter", FILTERED_REPLY)
    assert stored("conv-filter") == before


@pytest.mark.parametrize("after", [None, 3], ids=["before-the-finish-reason", "part-way"])
def test_a_cut_stream_is_not_stored(app_env: FakeFoundry, service: InferenceChat, after: int | None) -> None:
    service.reply("conv-cut", "My name is Ada")
    before = stored("conv-cut")
    app_env.cut_next_stream(after)
    with pytest.raises(ServiceError, match="stream ended before"):
        "".join(service.stream("conv-cut", "Tell me a long story"))
    assert stored("conv-cut") == before


def test_history_moves_to_a_mistral_deployment(app_env: FakeFoundry, monkeypatch: pytest.MonkeyPatch) -> None:
    # OpenAI models name tool calls call_<24 chars>; Mistral refuses any id but 9 letters or digits, also in
    # the history it is sent, so a conversation only moves to it if the ids were stored in that form. The first
    # turn runs on an OpenAI deployment of its own, whatever the project's primary model is (Mistral too).
    app_env.runtime.add_deployment("gpt-test", "OpenAI")
    monkeypatch.setenv("AZURE_AI_MODEL_DEPLOYMENT", "gpt-test")
    openai_calls = make_service(load_settings()).reply("conv-move", "Calculate 6*7")
    assert openai_calls.text == "The calculate tool says: 42"
    first_id = chat_calls(app_env)[0].response["choices"][0]["message"]["tool_calls"][0]["id"]
    assert not MISTRAL_CALL_ID.fullmatch(first_id)
    app_env.runtime.add_deployment("Mistral-Large-3", "Mistral AI")
    monkeypatch.setenv("AZURE_AI_MODEL_DEPLOYMENT", "Mistral-Large-3")
    mistral = make_service(load_settings())
    assert mistral.reply("conv-move", "Calculate 2+2").text == "The calculate tool says: 4"
    for call in chat_calls(app_env)[2:]:  # after the OpenAI turn (tool round + answer)
        assert call.body["model"] == "Mistral-Large-3" and call.status == 200
        ids = [c["id"] for m in call.body["messages"] for c in m.get("tool_calls") or []]
        ids += [m["tool_call_id"] for m in call.body["messages"] if m["role"] == "tool"]
        assert ids and all(MISTRAL_CALL_ID.fullmatch(i) for i in ids)


def test_a_mistral_deployment_refuses_other_call_ids(app_env: FakeFoundry) -> None:
    # The fake is as strict as Mistral's API: without the rewrite, the request above would fail like this.
    import openai

    from {{ cookiecutter.package }}.auth import openai_client

    app_env.runtime.add_deployment("Mistral-Large-3", "Mistral AI")
    client = openai_client(load_settings(), app_env.url + "/openai/v1/")  # the app's keyless client, raw requests
    call_id = "call_Zx81kq0AbCdEfGhIjKlMnOpQ"
    call: dict[str, Any] = {"id": call_id, "type": "function", "function": {"name": "calculate", "arguments": "{}"}}
    with pytest.raises(openai.BadRequestError, match="must be a-z, A-Z, 0-9, with a length of 9"):
        client.chat.completions.create(model="Mistral-Large-3", messages=[
            {"role": "user", "content": "Calculate 1+1"},
            {"role": "assistant", "content": None, "tool_calls": [call]},  # type: ignore[list-item]
            {"role": "tool", "tool_call_id": call_id, "content": "2"},
        ])


@pytest.mark.parametrize("streaming", [False, True], ids=["reply", "stream"])
def test_a_turn_racing_another_on_the_same_conversation_fails_loudly(
    app_env: FakeFoundry, tmp_path: Path, streaming: bool
) -> None:
    class Racing(SQLiteConversationStore):
        """Another request stores a turn on the conversation right after this turn first read it."""

        raced = False

        def load(self, conversation_id: str, token_budget: int | None = None) -> list[Any]:
            history = super().load(conversation_id, token_budget)
            if not self.raced:
                self.raced = True
                racing = [{"role": "user", "content": "two"}, {"role": "assistant", "content": "2"}]
                self.append(conversation_id, racing)
            return history

    service = make_service(load_settings())
    first = service.reply(None, "my name is Ada")
    store = Racing(tmp_path / "racing.sqlite3")
    store.append(first.conversation_id, service._store.load(first.conversation_id))
    service._store = store
    with pytest.raises(ServiceError, match="moved on while this turn ran") as err:
        if streaming:
            "".join(service.stream(first.conversation_id, "one"))
        else:
            service.reply(first.conversation_id, "one")
    assert err.value.status == 409  # a conflict: the API answers 409
    contents = [m["content"] for m in store.load(first.conversation_id)]
    assert "one" not in contents and contents[-2:] == ["two", "2"]  # the racing turn stands, this one is not kept


@pytest.mark.parametrize("streaming", [False, True], ids=["reply", "stream"])
def test_the_last_round_forbids_tools_so_the_turn_ends_in_an_answer(
    app_env: FakeFoundry, service: InferenceChat, streaming: bool
) -> None:
    # The fake model calls a tool every round while it may; the 9th request must say tool_choice "none".
    text = "".join(service.stream(None, KEEP_CALLING)) if streaming else service.reply(None, KEEP_CALLING).text
    assert text == "The calculate tool says: 2"
    calls = chat_calls(app_env)
    assert len(calls) == MAX_TOOL_ROUNDS + 1
    assert [c.body.get("tool_choice") for c in calls] == [None] * MAX_TOOL_ROUNDS + ["none"]
