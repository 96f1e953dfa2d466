"""App-owned conversation state: stores, context-window trimming and the tool-call loop (standard library only)."""

from snap_inference.state.loop import (
    MAX_TOOL_ROUNDS,
    Completer,
    ToolLoopError,
    run_turn,
    tool_outputs,
)
from snap_inference.state.store import (
    ConversationStore,
    InMemoryConversationStore,
    SQLiteConversationStore,
    open_store,
)
from snap_inference.state.trim import (
    Message,
    estimate_tokens,
    select_tail,
    trim_messages,
)

__all__ = [
    "MAX_TOOL_ROUNDS",
    "Completer",
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
