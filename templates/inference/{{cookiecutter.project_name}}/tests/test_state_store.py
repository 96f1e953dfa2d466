"""ConversationStore implementations keep chat-completions JSON in order, per conversation, and trim on load."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conversations import conversation
from hypothesis import given, settings
from hypothesis import strategies as st

from {{ cookiecutter.package }}.state import (
    ConversationStore,
    InMemoryConversationStore,
    Message,
    SQLiteConversationStore,
    open_store,
    trim_messages,
)

CALL: dict[str, Any] = {"id": "call_1", "type": "function", "function": {"name": "clock", "arguments": '{"tz": "UTC"}'}}
SHAPES: list[Message] = [
    {"role": "user", "content": "What time is it? ⏰ ünïcödé"},
    {"role": "assistant", "tool_calls": [CALL]},
    {"role": "tool", "tool_call_id": "call_1", "content": '{"utc": "2030-01-01T12:00:00Z"}'},
    {"role": "assistant", "content": "It is noon UTC."},
    {"role": "user", "content": [{"type": "text", "text": "and in Paris?"}]},
]


@pytest.fixture(params=["sqlite", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ConversationStore]:
    s: ConversationStore = (
        SQLiteConversationStore(tmp_path / "db" / "history.sqlite3")
        if request.param == "sqlite" else InMemoryConversationStore()
    )
    yield s
    s.close()


def test_round_trips_every_message_shape(store: ConversationStore) -> None:
    store.append("c1", SHAPES[:3])
    store.append("c1", SHAPES[3:])
    assert store.load("c1") == SHAPES


def test_conversations_are_separate_and_unknown_is_empty(store: ConversationStore) -> None:
    store.append("a", [SHAPES[0]])
    store.append("b", [SHAPES[3]])
    store.append("a", [SHAPES[3]])
    assert store.load("a") == [SHAPES[0], SHAPES[3]]
    assert store.load("b") == [SHAPES[3]]
    assert store.load("nope") == []
    assert store.load("nope", 100) == []


def test_delete_forgets_only_that_conversation(store: ConversationStore) -> None:
    store.append("a", SHAPES)
    store.append("b", SHAPES)
    store.delete("a")
    assert store.load("a") == []
    assert store.load("b") == SHAPES
    store.append("a", [SHAPES[0]])
    assert store.load("a") == [SHAPES[0]]


def test_returned_messages_are_copies(store: ConversationStore) -> None:
    message = {"role": "user", "content": "hi"}
    store.append("c", [message])
    message["content"] = "changed"
    store.load("c")[0]["content"] = "changed too"
    assert store.load("c") == [{"role": "user", "content": "hi"}]


def test_non_json_message_is_rejected_and_nothing_is_written(store: ConversationStore) -> None:
    with pytest.raises(TypeError):
        store.append("c", [{"role": "user", "content": "ok"}, {"role": "user", "content": object()}])
    assert store.load("c") == []


@settings(max_examples=60, deadline=None)
@given(conversation(), st.integers(0, 2000))
def test_load_with_budget_equals_trimming_the_whole_history(history: list[Message], budget: int) -> None:
    for s in (SQLiteConversationStore(":memory:"), InMemoryConversationStore()):
        s.append("c", history)
        assert s.load("c", budget) == trim_messages(history, budget)
        assert s.load("c") == history
        s.close()


def test_sqlite_history_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    first = SQLiteConversationStore(path)
    first.append("c", SHAPES[:2])
    first.close()
    second = SQLiteConversationStore(path)
    second.append("c", SHAPES[2:])
    assert second.load("c") == SHAPES
    second.close()


def test_sqlite_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    stores = [SQLiteConversationStore(path) for _ in range(2)]  # like two processes sharing the file

    def write(worker: int) -> None:
        for i in range(50):
            stores[worker % 2].append("shared", [{"role": "user", "content": f"{worker}:{i}"}])

    threads = [threading.Thread(target=write, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    got = [m["content"] for m in stores[0].load("shared")]
    assert sorted(got) == sorted(f"{w}:{i}" for w in range(4) for i in range(50))
    for w in range(4):
        assert [c for c in got if c.startswith(f"{w}:")] == [f"{w}:{i}" for i in range(50)], "per-writer order"
    for s in stores:
        s.close()


def test_sqlite_schema_indexes_conversation_and_sequence(tmp_path: Path) -> None:
    store = SQLiteConversationStore(tmp_path / "h.sqlite3")
    store.append("c", SHAPES)
    store.close()
    db = sqlite3.connect(tmp_path / "h.sqlite3")
    plan = " ".join(str(r) for r in db.execute(
        "EXPLAIN QUERY PLAN SELECT tokens, starts_turn, body FROM messages "
        "WHERE conversation_id = ? ORDER BY seq DESC", ("c",)))
    db.close()
    assert "USING INDEX" in plan and "TEMP B-TREE" not in plan, plan


def test_open_store_picks_the_implementation(tmp_path: Path) -> None:
    assert isinstance(open_store("memory"), InMemoryConversationStore)
    db = tmp_path / "nested" / "dir" / "history.sqlite3"
    sqlite_store = open_store(str(db))
    assert isinstance(sqlite_store, SQLiteConversationStore)
    sqlite_store.append("c", SHAPES[:1])
    sqlite_store.close()
    assert db.is_file()
