"""Context-window trimming: system prompt kept, oldest whole turns dropped, tool pairs never split, budget held."""

from __future__ import annotations

from conversations import assert_pairs_whole, conversation, text, total, turn_starts
from hypothesis import given, settings
from hypothesis import strategies as st

from {{ cookiecutter.package }}.state import Message, estimate_tokens, trim_messages
from {{ cookiecutter.package }}.state.trim import CHARS_PER_TOKEN, MESSAGE_OVERHEAD

SYSTEM: Message = {"role": "system", "content": "You are terse."}


def test_estimate_is_chars_over_four_plus_overhead() -> None:
    assert estimate_tokens({"role": "user", "content": ""}) == MESSAGE_OVERHEAD
    assert estimate_tokens({"role": "user", "content": "x" * 9}) == MESSAGE_OVERHEAD + 3
    call = {"id": "c1", "type": "function", "function": {"name": "clock", "arguments": '{"tz":"UTC"}'}}
    chars = len("c1") + len("clock") + len('{"tz":"UTC"}')
    assert estimate_tokens({"role": "assistant", "tool_calls": [call]}) == MESSAGE_OVERHEAD + -(-chars // 4)
    assert estimate_tokens({"role": "tool", "tool_call_id": "c1", "content": "12:00"}) == MESSAGE_OVERHEAD + 2
    parts = {"role": "user", "content": [{"type": "text", "text": "abcd" * 5}]}
    assert estimate_tokens(parts) == MESSAGE_OVERHEAD + 5
    assert CHARS_PER_TOKEN == 4


def test_drops_oldest_turns_first_and_keeps_system() -> None:
    turns = [[{"role": "user", "content": f"q{i}" * 20}, {"role": "assistant", "content": f"a{i}" * 20}]
             for i in range(5)]
    history = [SYSTEM] + [m for t in turns for m in t]
    budget = total([SYSTEM]) + total(turns[3] + turns[4])
    assert trim_messages(history, budget) == [SYSTEM, *turns[3], *turns[4]]
    assert trim_messages(history, budget - 1) == [SYSTEM, *turns[4]]
    assert trim_messages(history, 10**6) == history


def test_never_splits_a_tool_call_from_its_outputs() -> None:
    call: Message = {"id": "call_1", "type": "function", "function": {"name": "clock", "arguments": "{}"}}
    old: list[Message] = [{"role": "user", "content": "time?"}, {"role": "assistant", "tool_calls": [call]},
           {"role": "tool", "tool_call_id": "call_1", "content": "12:00" * 50},
           {"role": "assistant", "content": "noon"}]
    new = [{"role": "user", "content": "thanks"}]
    # Enough room for the tool output and the answer but not the whole old turn: all of it goes.
    budget = total([SYSTEM, *new, *old[2:]])
    assert trim_messages([SYSTEM, *old, *new], budget) == [SYSTEM, *new]


def test_oversized_newest_turn_is_kept_whole() -> None:
    """Defined behaviour: the newest turn is sent even over budget rather than silently dropped."""
    big = [{"role": "user", "content": "x" * 4000}, {"role": "assistant", "content": "ok"}]
    older = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
    assert trim_messages([SYSTEM, *older, *big], 50) == [SYSTEM, *big]
    assert trim_messages([SYSTEM, *older, *big], 0) == [SYSTEM, *big]


def test_empty_and_system_only() -> None:
    assert trim_messages([], 0) == []
    assert trim_messages([SYSTEM], 0) == [SYSTEM]


@settings(max_examples=300, deadline=None)
@given(conversation(), st.integers(0, 3000), st.booleans(), text)
def test_trimming_invariants(history: list[Message], budget: int, with_system: bool, prompt: str) -> None:
    head = [{"role": "system", "content": prompt}] if with_system else []
    out = trim_messages([*head, *history], budget)

    assert out[: len(head)] == head, "system prompt kept first"
    kept = out[len(head):]
    assert kept == history[len(history) - len(kept):], "a contiguous run of the newest messages"
    cut = len(history) - len(kept)
    starts = turn_starts(history)
    assert not history or cut in starts, "cut only at a turn boundary"
    assert_pairs_whole(kept)

    newest = starts[-1] if history else 0
    if total(out) > budget:
        assert cut == newest, "over budget only when the newest turn alone does not fit"
    elif cut > 0:
        previous = max(s for s in starts if s < cut)
        assert total([*head, *history[previous:]]) > budget, "an older turn was dropped although it fit"
