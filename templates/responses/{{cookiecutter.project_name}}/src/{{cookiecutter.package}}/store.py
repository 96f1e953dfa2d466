"""The only conversation state this app keeps: the id of the last response of each conversation.

The service holds the history (store=true); the next turn sends previous_response_id, never the old messages.
A SQLite file survives restarts and is safe to share between the CLI and the API on one machine.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path


class ResponseIdStore:
    """conversation id -> last response id, in SQLite (":memory:" for a throwaway store)."""

    def __init__(self, path: str | Path) -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA busy_timeout = 5000")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS conversations ("
            " id TEXT PRIMARY KEY, last_response_id TEXT NOT NULL, updated_at REAL NOT NULL)"
        )

    def get(self, conversation_id: str) -> str | None:
        """The last response id of a conversation, or None for a conversation this store has not seen."""
        with self._lock:
            row = self._db.execute(
                "SELECT last_response_id FROM conversations WHERE id = ?", (conversation_id,)
            ).fetchone()
        return row[0] if row else None

    def set(self, conversation_id: str, response_id: str) -> None:
        """Record the response the next turn continues from."""
        with self._lock:
            self._db.execute(
                "INSERT INTO conversations (id, last_response_id, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET last_response_id = excluded.last_response_id, "
                "updated_at = excluded.updated_at",
                (conversation_id, response_id, time.time()),
            )

    def advance(self, conversation_id: str, expected: str | None, response_id: str) -> bool:
        """Move a conversation from `expected` to `response_id`; False if another turn moved it first.

        Two turns on one conversation at once (API threads, two processes) would otherwise fork the chain
        and silently drop one turn; compare-and-set makes the second one fail loudly instead.
        """
        now = time.time()
        with self._lock:
            if expected is None:
                done = self._db.execute(
                    "INSERT INTO conversations (id, last_response_id, updated_at) VALUES (?, ?, ?) "
                    "ON CONFLICT(id) DO NOTHING",
                    (conversation_id, response_id, now),
                )
            else:
                done = self._db.execute(
                    "UPDATE conversations SET last_response_id = ?, updated_at = ? "
                    "WHERE id = ? AND last_response_id = ?",
                    (response_id, now, conversation_id, expected),
                )
        return done.rowcount == 1

    def forget(self, conversation_id: str, expected: str | None = None) -> None:
        """Drop a conversation (its next turn starts fresh); with `expected`, only while it still ends there."""
        with self._lock:
            if expected is None:
                self._db.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))
            else:
                self._db.execute(
                    "DELETE FROM conversations WHERE id = ? AND last_response_id = ?", (conversation_id, expected)
                )

    def close(self) -> None:
        with self._lock:
            self._db.close()
