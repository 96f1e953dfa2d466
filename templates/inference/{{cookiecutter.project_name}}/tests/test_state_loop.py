"""The tool-call loop threads tool outputs back in chat-completions shape and stores a turn only once answered."""

from __future__ import annotations

import json
from collections.abc import Generator
from typing import Any

import pytest

from {{ cookiecutter.package }}.state import (
    InMemoryConversationStore,
    Message,
    ToolLoopError,
    estimate_tokens,
    run_turn,
    tool_outputs,
    trim_messages,
)


def run_tool(name: str, arguments: str) -> str:
    """A local tool for these tests: echoes its input, fails on demand."""
    args = json.loads(arguments)
    if name == "fail":
        raise ValueError("bad input")
    return json.dumps({"tool": name, **args})


def call(call_id: str, name: str, **args: object) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}


class Scripted:
    """A Completer that answers from a script and records every request's messages (the model side)."""

    def __init__(self, *replies: Message | Exception) -> None:
        self.replies = list(replies)
        self.requests: list[tuple[list[Message], bool]] = []

    def __call__(self, messages: list[Message], allow_tools: bool) -> Generator[str, None, Message]:
        self.requests.append((json.loads(json.dumps(messages)), allow_tools))
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        for word in (reply.get("content") or "").split(" "):
            yield word + " "
        return reply


def turn(store: InMemoryConversationStore, text: str, model: Scripted, *, budget: int = 10_000,
         rounds: int = 8) -> tuple[str, Message]:
    gen = run_turn(store, "c", text, model, run_tool, system_prompt="Be brief.", token_budget=budget,
                   max_tool_rounds=rounds)
    chunks = []
    try:
        while True:
            chunks.append(next(gen))
    except StopIteration as done:
        return "".join(chunks), done.value


SYSTEM = {"role": "system", "content": "Be brief."}


def test_plain_answer_is_streamed_and_stored() -> None:
    store = InMemoryConversationStore()
    model = Scripted({"role": "assistant", "content": "hello there"})
    text, final = turn(store, "hi", model)
    assert text == "hello there "
    assert final == {"role": "assistant", "content": "hello there"}
    assert model.requests == [([SYSTEM, {"role": "user", "content": "hi"}], True)]
    assert store.load("c") == [{"role": "user", "content": "hi"}, final]


def test_tool_outputs_follow_their_calls_in_order() -> None:
    store = InMemoryConversationStore()
    asking = {"role": "assistant", "content": None, "tool_calls": [call("a", "clock", tz="UTC"),
                                                                    call("b", "calc", expr="1+1")]}
    model = Scripted(asking, {"role": "assistant", "content": "done"})
    _, final = turn(store, "time and sum?", model)
    user = {"role": "user", "content": "time and sum?"}
    outputs = [{"role": "tool", "tool_call_id": "a", "content": json.dumps({"tool": "clock", "tz": "UTC"})},
               {"role": "tool", "tool_call_id": "b", "content": json.dumps({"tool": "calc", "expr": "1+1"})}]
    assert model.requests[1] == ([SYSTEM, user, asking, *outputs], True)
    assert store.load("c") == [user, asking, *outputs, final]


def test_a_failing_tool_still_answers_its_call() -> None:
    out = tool_outputs({"role": "assistant", "tool_calls": [call("x", "fail")]}, run_tool)
    assert out == [{"role": "tool", "tool_call_id": "x", "content": json.dumps({"error": "ValueError: bad input"})}]
    bad_json = tool_outputs({"role": "assistant", "tool_calls": [
        {"id": "y", "type": "function", "function": {"name": "clock", "arguments": "{not json"}}]}, run_tool)
    assert bad_json[0]["tool_call_id"] == "y" and "JSONDecodeError" in bad_json[0]["content"]


def test_last_round_disables_tools_and_a_stubborn_model_is_an_error() -> None:
    store = InMemoryConversationStore()
    asking = {"role": "assistant", "tool_calls": [call("a", "clock")]}
    model = Scripted(asking, asking, {"role": "assistant", "content": "fine"})
    _, final = turn(store, "q", model, rounds=2)
    assert [allow for _, allow in model.requests] == [True, True, False]
    assert final["content"] == "fine"

    stubborn = Scripted(asking, asking, asking)
    with pytest.raises(ToolLoopError):
        turn(InMemoryConversationStore(), "q", stubborn, rounds=2)


def test_failed_request_leaves_history_unchanged() -> None:
    store = InMemoryConversationStore()
    turn(store, "first", Scripted({"role": "assistant", "content": "one"}))
    before = store.load("c")
    asking = {"role": "assistant", "tool_calls": [call("a", "clock")]}
    with pytest.raises(ConnectionError):
        turn(store, "second", Scripted(asking, ConnectionError("429 after retries")))
    assert store.load("c") == before


def test_each_request_carries_the_trimmed_history() -> None:
    store = InMemoryConversationStore()
    for i in range(6):
        turn(store, f"question {i} " * 10, Scripted({"role": "assistant", "content": f"answer {i} " * 10}))
    history = store.load("c")
    user = {"role": "user", "content": "next"}
    budget = 160
    model = Scripted({"role": "assistant", "content": "ok"})
    turn(store, "next", model, budget=budget)
    sent = model.requests[0][0]
    assert sent == trim_messages([SYSTEM, *history, user], budget)
    assert sent[0] == SYSTEM and sent[-1] == user
    assert 1 < len(sent) - 1 < len(history) + 1, "some but not all earlier turns were dropped"
    assert sum(estimate_tokens(m) for m in sent) <= budget
