"""App-owned conversation state: stores, context-window trimming and the tool-call loop (standard library only)."""

from {{ cookiecutter.package }}.state.loop import (
    MAX_TOOL_ROUNDS,
    Completer,
    ToolLoopError,
    run_turn,
    tool_outputs,
)
from {{ cookiecutter.package }}.state.store import (
    ConversationMovedOn,
    ConversationStore,
    InMemoryConversationStore,
    SQLiteConversationStore,
    open_store,
)
from {{ cookiecutter.package }}.state.trim import (
    Message,
    estimate_tokens,
    select_tail,
    trim_messages,
)

__all__ = [
    "MAX_TOOL_ROUNDS",
    "Completer",
    "ConversationMovedOn",
    "ConversationStore",
    "InMemoryConversationStore",
    "Message",
    "SQLiteConversationStore",
    "ToolLoopError",
    "estimate_tokens",
    "open_store",
    "run_turn",
    "select_tail",
    "tool_outputs",
    "trim_messages",
]
