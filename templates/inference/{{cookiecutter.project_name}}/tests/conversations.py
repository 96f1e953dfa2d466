"""Hypothesis strategies and checks for chat-completions conversations, shared by the state-layer tests."""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import strategies as st

from {{ cookiecutter.package }}.state import Message, estimate_tokens

_ids = itertools.count()
text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=120)


@st.composite
def tool_round(draw: st.DrawFn) -> list[Message]:
    """An assistant message calling 1-3 tools, followed by one output per call."""
    n = draw(st.integers(1, 3))
    calls = [
        {"id": f"call_{next(_ids)}", "type": "function",
         "function": {"name": draw(st.sampled_from(["clock", "calc"])), "arguments": draw(text)}}
        for _ in range(n)
    ]
    assistant: Message = {"role": "assistant", "tool_calls": calls}
    if draw(st.booleans()):
        assistant["content"] = draw(text)
    return [assistant, *({"role": "tool", "tool_call_id": c["id"], "content": draw(text)} for c in calls)]


@st.composite
def turn(draw: st.DrawFn) -> list[Message]:
    """A user message, 0-2 tool rounds, then (usually) the assistant's answer."""
    out: list[Message] = [{"role": "user", "content": draw(text)}]
    for _ in range(draw(st.integers(0, 2))):
        out += draw(tool_round())
    if draw(st.integers(0, 4)):
        out.append({"role": "assistant", "content": draw(text)})
    return out


@st.composite
def conversation(draw: st.DrawFn) -> list[Message]:
    """Stored history: optionally a greeting before any user message, then 0-12 turns."""
    out: list[Message] = []
    if draw(st.integers(0, 5)) == 0:
        out.append({"role": "assistant", "content": draw(text)})
    for t in draw(st.lists(turn(), max_size=12)):
        out += t
    return out


def total(messages: list[Message]) -> int:
    return sum(estimate_tokens(m) for m in messages)


def turn_starts(messages: list[Message]) -> list[int]:
    """Indexes where a turn starts (0 always counts: messages before the first user form a turn)."""
    return sorted({0} | {i for i, m in enumerate(messages) if m["role"] == "user"})


def assert_pairs_whole(messages: list[Message]) -> None:
    """Every tool call has its output in the list and every output has its call, call first."""
    seen_calls: set[str] = set()
    answered: set[str] = set()
    for m in messages:
        for call in m.get("tool_calls") or ():
            seen_calls.add(call["id"])
        if m["role"] == "tool":
            assert m["tool_call_id"] in seen_calls, "tool output without its call"
            answered.add(m["tool_call_id"])
    assert seen_calls == answered, "tool call without its output"


def as_json(messages: list[Message]) -> list[dict[str, Any]]:
    return [dict(m) for m in messages]
