"""Fit a conversation into a token budget offline: a deterministic size estimate and whole-turn trimming."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

Message = dict[str, Any]
T = TypeVar("T")

# No tokenizer is downloaded at run time: models from different providers use different tokenizers, and
# ~4 characters per token is the usual rule of thumb for English text. Real counts vary with the model,
# the language and the content, so keep headroom between the budget and the model's context window.
CHARS_PER_TOKEN = 4
# Chat templates wrap every message in role markers and separators (OpenAI documents ~3-4 tokens).
MESSAGE_OVERHEAD = 4


def estimate_tokens(message: Message) -> int:
    """Deterministic token estimate of one chat-completions message: ceil(chars / 4) + 4.

    Counts the text content (a string or a list of text parts; other parts by their JSON length), each
    tool call's id, name and JSON arguments, and a tool output's tool_call_id. A pure function of the
    message: the same message always gets the same estimate, so the store records it once, at append time.
    """
    chars = 0
    content = message.get("content")
    if isinstance(content, str):
        chars += len(content)
    elif isinstance(content, list):
        for part in content:
            text = part.get("text") if isinstance(part, dict) else None
            chars += len(text) if isinstance(text, str) else len(json.dumps(part))
    for call in message.get("tool_calls") or ():
        function = call.get("function") or {}
        chars += len(call.get("id", "")) + len(function.get("name", "")) + len(function.get("arguments", ""))
    chars += len(message.get("tool_call_id") or "")
    return MESSAGE_OVERHEAD + -(-chars // CHARS_PER_TOKEN)


def starts_turn(message: Message) -> bool:
    """A turn is a user message and everything after it up to the next user message."""
    return message.get("role") == "user"


def select_tail(newest_first: Iterable[tuple[int, bool, T]], budget: int) -> list[T]:
    """Keep the newest whole turns that fit in `budget` tokens; return them oldest first.

    `newest_first` yields (tokens, starts_turn, item) from the newest message backwards and is consumed
    only as far as needed, so a store can stream rows from its tail. Whole turns are dropped, oldest
    first, so an assistant tool call is never separated from its tool outputs and the kept history
    starts with a user message. The newest turn is always kept, even when it alone exceeds the budget:
    sending it over budget (the service may then refuse it) beats silently dropping the question.
    Messages older than the first user message count as one turn.
    """
    kept: list[T] = []
    total = 0
    turn: list[T] = []
    turn_tokens = 0
    for tokens, is_start, item in newest_first:
        turn.append(item)
        turn_tokens += tokens
        if not is_start:
            continue
        if kept and total + turn_tokens > budget:
            turn = []
            break
        kept.extend(turn)
        total += turn_tokens
        turn, turn_tokens = [], 0
    if turn and (not kept or total + turn_tokens <= budget):
        kept.extend(turn)
    kept.reverse()
    return kept


def trim_messages(messages: Sequence[Message], budget: int) -> list[Message]:
    """Trim a full message list to `budget` tokens: leading system messages always stay, then whole turns.

    The result's estimated total is <= budget, except when the system messages plus the newest turn
    alone exceed it; then exactly those are returned.
    """
    head = 0
    while head < len(messages) and messages[head].get("role") in ("system", "developer"):
        head += 1
    remaining = budget - sum(estimate_tokens(m) for m in messages[:head])
    rest = ((estimate_tokens(m), starts_turn(m), m) for m in reversed(messages[head:]))
    return [*messages[:head], *select_tail(rest, remaining)]
