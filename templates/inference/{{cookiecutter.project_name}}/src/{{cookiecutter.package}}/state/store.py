"""Conversation history owned by the app: a ConversationStore protocol, SQLite (default) and in-memory."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

from {{ cookiecutter.package }}.state.trim import Message, estimate_tokens, select_tail, starts_turn

MEMORY = "memory"


class ConversationMovedOn(RuntimeError):
    """An append expected the conversation at one length and found it longer: another turn finished meanwhile."""


class ConversationStore(Protocol):
    """Where chat-completions messages (JSON objects) of each conversation are kept, in order.

    Messages are stored exactly as sent to the model: {"role": "user", "content": ...},
    {"role": "assistant", "content": ..., "tool_calls": [...]}, {"role": "tool", "tool_call_id": ..., "content": ...}.
    The system prompt is not stored: it comes from the settings on every request.
    """

    def append(
        self, conversation_id: str, messages: Iterable[Message], expected_length: int | None = None
    ) -> None:
        """Add messages at the end of a conversation (created on first append).

        With `expected_length`, append only if the conversation still has exactly that many messages, checked in
        the same transaction; otherwise raise ConversationMovedOn and append nothing.
        """

    def length(self, conversation_id: str) -> int:
        """How many messages the conversation holds (0 for an unknown one)."""

    def load(self, conversation_id: str, token_budget: int | None = None) -> list[Message]:
        """The conversation's messages, oldest first; with a budget, only the newest whole turns that fit.

        An unknown conversation is empty. Trimming follows `trim.select_tail`.
        """

    def delete(self, conversation_id: str) -> None:
        """Forget a conversation."""

    def close(self) -> None:
        """Release resources."""


def _encode(message: Message) -> str:
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"))


class InMemoryConversationStore:
    """A ConversationStore in a dict; for tests and throwaway sessions (gone when the process ends)."""

    def __init__(self) -> None:
        self._rows: dict[str, list[tuple[int, bool, str]]] = {}
        self._lock = threading.Lock()

    def append(
        self, conversation_id: str, messages: Iterable[Message], expected_length: int | None = None
    ) -> None:
        """Add messages at the end of a conversation (only at `expected_length` messages, when given)."""
        # Stored as JSON text, like SQLite: non-JSON values fail here, and callers can't mutate history later.
        rows = [(estimate_tokens(m), starts_turn(m), _encode(m)) for m in messages]
        with self._lock:
            stored = self._rows.setdefault(conversation_id, [])
            if expected_length is not None and len(stored) != expected_length:
                raise ConversationMovedOn(conversation_id)
            stored.extend(rows)

    def length(self, conversation_id: str) -> int:
        """How many messages the conversation holds."""
        with self._lock:
            return len(self._rows.get(conversation_id, []))

    def load(self, conversation_id: str, token_budget: int | None = None) -> list[Message]:
        """Messages oldest first, trimmed to the budget when one is given."""
        with self._lock:
            rows = self._rows.get(conversation_id, [])
            count = len(rows)
        # Rows are only ever added at the end, so the first `count` stay as they are without copying the list.
        newest_first = (rows[i] for i in range(count - 1, -1, -1))
        if token_budget is None:
            return [json.loads(body) for _, _, body in reversed(list(newest_first))]
        return [json.loads(body) for body in select_tail(newest_first, token_budget)]

    def delete(self, conversation_id: str) -> None:
        """Forget a conversation."""
        with self._lock:
            self._rows.pop(conversation_id, None)

    def close(self) -> None:
        """Nothing to release."""


_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    conversation_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    tokens INTEGER NOT NULL,
    starts_turn INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (conversation_id, seq)
);
"""


class SQLiteConversationStore:
    """A ConversationStore in one SQLite file: one row per message, keyed by (conversation_id, seq).

    Each row carries the message's token estimate, computed once at append time, so loading a trimmed
    history reads rows backwards from the newest along the primary-key index and stops at the first
    turn that does not fit: a turn costs the same at 10 or 10,000 stored messages. Safe to share across
    threads (one connection behind a lock) and processes (WAL journal, appends in IMMEDIATE transactions).
    """

    def __init__(self, path: str | Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
        self._db.execute("PRAGMA journal_mode=WAL")
        # WAL + NORMAL survives an app crash; only an OS crash may lose the last turns, never corrupt the file.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def append(
        self, conversation_id: str, messages: Iterable[Message], expected_length: int | None = None
    ) -> None:
        """Add messages at the end of a conversation, in one transaction (only at `expected_length` messages,
        when given: the check and the insert share the IMMEDIATE transaction, so other processes cannot slip in)."""
        encoded = [(estimate_tokens(m), starts_turn(m), _encode(m)) for m in messages]
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                (last, count) = self._db.execute(
                    "SELECT COALESCE(MAX(seq), 0), COUNT(*) FROM messages WHERE conversation_id = ?",
                    (conversation_id,),
                ).fetchone()
                if expected_length is not None and count != expected_length:
                    raise ConversationMovedOn(conversation_id)
                self._db.executemany(
                    "INSERT INTO messages (conversation_id, seq, tokens, starts_turn, body) VALUES (?, ?, ?, ?, ?)",
                    [(conversation_id, last + i, t, s, b) for i, (t, s, b) in enumerate(encoded, start=1)],
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def load(self, conversation_id: str, token_budget: int | None = None) -> list[Message]:
        """Messages oldest first, trimmed to the budget when one is given (reads only the kept tail)."""
        with self._lock:
            if token_budget is None:
                rows = self._db.execute(
                    "SELECT body FROM messages WHERE conversation_id = ? ORDER BY seq", (conversation_id,)
                ).fetchall()
                return [json.loads(body) for (body,) in rows]
            cursor = self._db.execute(
                "SELECT tokens, starts_turn, body FROM messages WHERE conversation_id = ? ORDER BY seq DESC",
                (conversation_id,),
            )
            try:
                # The cursor steps lazily: select_tail stops reading at the first turn that does not fit.
                bodies = select_tail(((t, bool(s), b) for t, s, b in cursor), token_budget)
            finally:
                cursor.close()  # ends the read transaction of a partly read statement
        return [json.loads(body) for body in bodies]

    def length(self, conversation_id: str) -> int:
        """How many messages the conversation holds."""
        with self._lock:
            (count,) = self._db.execute(
                "SELECT COUNT(*) FROM messages WHERE conversation_id = ?", (conversation_id,)
            ).fetchone()
        return int(count)

    def delete(self, conversation_id: str) -> None:
        """Forget a conversation."""
        with self._lock:
            self._db.execute("DELETE FROM messages WHERE conversation_id = ?", (conversation_id,))

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._db.close()


def open_store(location: str) -> ConversationStore:
    """The store a setting names: "memory" for in-memory, otherwise the path of a SQLite file."""
    if location.strip().lower() in (MEMORY, ":memory:"):
        return InMemoryConversationStore()
    return SQLiteConversationStore(Path(location).expanduser())
