"""Per-turn cost of the app-owned state layer (load + trim + append) at 10 to 10,000 stored messages.

Each sample is one real `state.run_turn` (with a local completer instead of the model, so no network):
load the newest turns that fit the budget, add the user message and the answer in one append. The
conversation holds N messages before the turn (a fresh one per sample). Prints the median per size for
the SQLite store, the in-memory store, and, for comparison, loading the whole history then trimming.
Target: <= 2 ms per turn at 1,000 messages, and cost growing no worse than linearly.

Run: python bench/state_layer.py [--repeats 31] [--budget 8000] [--sizes 10,100,1000,10000]
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Generator
from pathlib import Path

try:
    import snap_inference  # noqa: F401
except ImportError:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from snap_inference.state import (
    ConversationStore,
    InMemoryConversationStore,
    Message,
    SQLiteConversationStore,
    estimate_tokens,
    run_turn,
    trim_messages,
)

SYSTEM_PROMPT = "You are a helpful assistant. Answer briefly and use the tools when they help."
ANSWER: Message = {"role": "assistant", "content": "Here is what I found. " * 12}


def sample_history(n: int) -> list[Message]:
    """n messages of a realistic chat: every third turn calls a tool; sizes vary like real text."""
    out: list[Message] = []
    i = 0
    while len(out) < n:
        out.append({"role": "user", "content": f"Question {i}: " + "could you explain this part? " * (2 + i % 5)})
        if i % 3 == 0:
            call_id = f"call_{i}"
            out.append({"role": "assistant", "tool_calls": [{"id": call_id, "type": "function", "function": {
                "name": "calculate", "arguments": '{"expression": "' + f"{i} * 17 + 4" + '"}'}}]})
            out.append({"role": "tool", "tool_call_id": call_id, "content": str(i * 17 + 4)})
        out.append({"role": "assistant", "content": f"Answer {i}. " + "Here is the explanation. " * (4 + i % 7)})
        i += 1
    return out[:n]


def complete(messages: list[Message], allow_tools: bool) -> Generator[str, None, Message]:
    """Stands in for the model: the bench measures the state layer, not the network."""
    yield ANSWER["content"]
    return ANSWER


def no_tool(name: str, arguments: str) -> str:
    raise AssertionError("the bench completer never calls tools")


def turn_via_state_layer(store: ConversationStore, cid: str, budget: int) -> int:
    """One turn through run_turn; returns how many messages the request carried."""
    sent: list[int] = []

    def counting(messages: list[Message], allow_tools: bool) -> Generator[str, None, Message]:
        sent.append(len(messages))
        return (yield from complete(messages, allow_tools))

    for _ in run_turn(store, cid, "And what about the next step?", counting, no_tool,
                      system_prompt=SYSTEM_PROMPT, token_budget=budget):
        pass
    return sent[0]


def turn_full_load(store: ConversationStore, cid: str, budget: int) -> int:
    """The naive way, for comparison: load everything, trim in Python, append."""
    user: Message = {"role": "user", "content": "And what about the next step?"}
    messages = trim_messages([{"role": "system", "content": SYSTEM_PROMPT}, *store.load(cid), user], budget)
    store.append(cid, [user, ANSWER])
    return len(messages)


def median_ms(store: ConversationStore, history: list[Message], repeats: int, budget: int,
              turn: Callable[[ConversationStore, str, int], int], tag: str) -> tuple[float, int]:
    times, sent = [], 0
    for r in range(-1, repeats):  # r = -1 warms up statement caches
        cid = f"{tag}-{len(history)}-{r}"
        store.append(cid, history)
        start = time.perf_counter_ns()
        sent = turn(store, cid, budget)
        elapsed = time.perf_counter_ns() - start
        if r >= 0:
            times.append(elapsed / 1e6)
    return statistics.median(times), sent


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeats", type=int, default=31)
    parser.add_argument("--budget", type=int, default=8000, help="token budget (CHAT_CONTEXT_TOKENS)")
    parser.add_argument("--sizes", default="10,100,1000,10000")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    per_msg = statistics.mean(estimate_tokens(m) for m in sample_history(1000))
    print(f"state layer, per turn (load + trim + append), median of {args.repeats} turns; "
          f"budget {args.budget:,} tokens, ~{per_msg:.0f} estimated tokens per stored message")
    print(f"{'stored':>8} {'sent':>5} {'sqlite ms':>10} {'growth':>7} {'memory ms':>10} {'growth':>7} "
          f"{'full-load ms':>13} {'growth':>7}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = SQLiteConversationStore(Path(tmp) / "bench.sqlite3")
        sqlite_full = SQLiteConversationStore(Path(tmp) / "bench-full.sqlite3")
        memory = InMemoryConversationStore()
        for n in sizes:
            history = sample_history(n)
            s, sent = median_ms(sqlite, history, args.repeats, args.budget, turn_via_state_layer, "s")
            m, _ = median_ms(memory, history, args.repeats, args.budget, turn_via_state_layer, "m")
            f, _ = median_ms(sqlite_full, history, args.repeats, args.budget, turn_full_load, "f")
            rows.append((n, sent, s, m, f))
        sqlite.close()
        sqlite_full.close()
    previous = None
    for n, sent, s, m, f in rows:
        growth = [f"{cur / old:6.2f}x" if previous else f"{'-':>7}" for cur, old in
                  zip((s, m, f), previous[2:] if previous else (1, 1, 1), strict=True)]
        print(f"{n:>8,} {sent:>5} {s:>10.3f} {growth[0]} {m:>10.3f} {growth[1]} {f:>13.3f} {growth[2]}")
        previous = (n, sent, s, m, f)
    by_size = {n: s for n, _, s, _, _ in rows}
    if 1000 in by_size:
        verdict = "met" if by_size[1000] <= 2.0 else "NOT met"
        print(f"target <= 2 ms per turn at 1,000 messages (SQLite): {verdict} ({by_size[1000]:.3f} ms)")
    if len(rows) > 1:
        worst = max((b[2] / a[2]) / (b[0] / a[0]) for a, b in itertools.pairwise(rows))
        print(f"SQLite growth relative to linear (1.0 = linear, < 1 = sub-linear), worst step: {worst:.3f}")


if __name__ == "__main__":
    main()
