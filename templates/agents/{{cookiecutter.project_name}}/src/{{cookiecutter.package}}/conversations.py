"""Names for server-side conversations, kept in a small SQLite file (APP_STATE_PATH).

The conversation itself (every message, tool call and tool output) lives on the Agent Service. Locally there is
only a map from the id a user chose (`chat --conversation support-42`) to the service's conversation id, and the
service ids this app has already seen, so a known id costs no extra request.
"""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing
from pathlib import Path


class ConversationNames:
    """name -> service conversation id. Safe across threads and processes (one short connection per call)."""

    def __init__(self, path: str | Path) -> None:
        self._path = Path(path)
        self._ready = False

    def _connect(self) -> sqlite3.Connection:
        if not self._ready:
            self._path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self._path, timeout=30)
        if not self._ready:
            with connection:
                connection.execute(
                    "CREATE TABLE IF NOT EXISTS conversation_names ("
                    "name TEXT PRIMARY KEY, conversation_id TEXT NOT NULL, created_at REAL NOT NULL)"
                )
            self._ready = True
        return connection

    def get(self, name: str) -> str | None:
        """The service's conversation id for `name`, if this app has recorded one."""
        with closing(self._connect()) as db:
            row = db.execute("SELECT conversation_id FROM conversation_names WHERE name = ?", (name,)).fetchone()
        return str(row[0]) if row else None

    def set(self, name: str, conversation_id: str) -> None:
        """Record (or move) `name` to a service conversation."""
        with closing(self._connect()) as db, db:
            db.execute(
                "INSERT INTO conversation_names (name, conversation_id, created_at) VALUES (?, ?, ?) "
                "ON CONFLICT(name) DO UPDATE SET conversation_id = excluded.conversation_id",
                (name, conversation_id, time.time()),
            )

    def forget(self, *names: str) -> None:
        """Drop names (a conversation deleted because its first turn failed)."""
        with closing(self._connect()) as db, db:
            db.executemany("DELETE FROM conversation_names WHERE name = ?", [(name,) for name in names])
