"""One chat turn with tools: send the trimmed history, run the tools the model calls, thread their outputs back."""

from __future__ import annotations

import json
from collections.abc import Callable, Generator

from {{ cookiecutter.package }}.service import ROUND_SEPARATOR, separated
from {{ cookiecutter.package }}.state.store import ConversationStore
from {{ cookiecutter.package }}.state.trim import Message, estimate_tokens

# complete(messages, allow_tools) sends one chat-completions request, yields the reply text as it arrives
# and returns the assistant message in chat-completions shape (with "tool_calls" when the model calls tools).
Completer = Callable[[list[Message], bool], Generator[str, None, Message]]
# run_tool(name, arguments_json) -> output text (tools.call_tool).
ToolRunner = Callable[[str, str], str]

# Rounds of tool calls allowed in one turn; the last request then disables tools so the turn ends in an answer.
MAX_TOOL_ROUNDS = 8


class ToolLoopError(RuntimeError):
    """The model kept calling tools after tools were disabled."""


def tool_outputs(assistant: Message, run_tool: ToolRunner) -> list[Message]:
    """One {"role": "tool", "tool_call_id", "content"} message per tool call of `assistant`, in call order."""
    outputs: list[Message] = []
    for call in assistant.get("tool_calls") or ():
        function = call.get("function") or {}
        try:
            result = run_tool(function.get("name", ""), function.get("arguments") or "{}")
        except Exception as exc:  # every call must get an output, or the service rejects the next request
            result = json.dumps({"error": f"{type(exc).__name__}: {exc}"})
        outputs.append({"role": "tool", "tool_call_id": call["id"], "content": result})
    return outputs


def run_turn(
    store: ConversationStore,
    conversation_id: str,
    user_text: str,
    complete: Completer,
    run_tool: ToolRunner,
    *,
    system_prompt: str,
    token_budget: int,
    max_tool_rounds: int = MAX_TOOL_ROUNDS,
) -> Generator[str, None, Message]:
    """Run one user turn to its final answer; yields reply text as it streams, returns the final message.

    Each request carries the system prompt, then the newest stored turns that fit in `token_budget`,
    then this turn so far (user message, assistant tool calls, tool outputs). The turn is stored in one
    append once it has an answer, so a failed request (rate limit, network) leaves the history unchanged
    and the user can simply retry.
    """
    system = [{"role": "system", "content": system_prompt}] if system_prompt else []
    base_budget = token_budget - sum(estimate_tokens(m) for m in system)
    turn: list[Message] = [{"role": "user", "content": user_text}]
    said = False
    # Compare-and-set: the turn is stored only if no other turn was stored meanwhile (ConversationMovedOn), so
    # the history never holds an answer next to a turn the model did not see.
    started_at = store.length(conversation_id)
    for round_no in range(max_tool_rounds + 1):
        # Older turns get what this turn leaves of the budget: the same result as trim.trim_messages on the
        # whole conversation, because the newest turn is always kept whole.
        earlier = store.load(conversation_id, base_budget - sum(estimate_tokens(m) for m in turn))
        pieces = complete([*system, *earlier, *turn], round_no < max_tool_rounds)
        assistant = yield from separated(pieces, ROUND_SEPARATOR if said else "")
        said = said or bool(assistant.get("content"))
        outputs = tool_outputs(assistant, run_tool)
        turn += [assistant, *outputs]
        if not outputs:
            store.append(conversation_id, turn, expected_length=started_at)
            return assistant
    raise ToolLoopError(f"the model still called tools after {max_tool_rounds} rounds with tools disabled")

