"""The generated Inference app: its CLI sends the whole trimmed history each turn
(the service keeps no state), threads tool calls back in chat-completions shape, and streams in the REPL."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from tests.apps.harness import AppRepo, fake_foundry

RUNTIME = "inference"
CHAT_COMPLETIONS = r"/openai/v1/chat/completions"

pytestmark = pytest.mark.slow


def estimate_tokens(message: dict[str, object]) -> int:
    """The generated state layer's documented estimator (state/trim.py): ceil(chars / 4) + 4 per message."""
    chars = len(str(message.get("content") or ""))
    for call in message.get("tool_calls") or ():  # type: ignore[attr-defined]
        chars += len(call["id"]) + len(call["function"]["name"]) + len(call["function"]["arguments"])
    chars += len(str(message.get("tool_call_id") or ""))
    return 4 + -(-chars // 4)


def test_cli_chats_twice_with_one_conversation_id(app_repo: AppRepo, tmp_path: Path) -> None:
    with fake_foundry(app_repo, tmp_path) as fake:
        first = app_repo.cli("chat", "--conversation", "X", "Hello, my name is Ada", env=fake.env)
        second = app_repo.cli("chat", "--conversation", "X", "What is my name?", env=fake.env)
        server = fake.server
    assert (first.returncode, first.stdout, first.stderr) == (0, "Nice to meet you, Ada.\n", "conversation: X\n")
    assert (second.returncode, second.stdout) == (0, "Your name is Ada.\n"), second.stderr

    one, two = server.calls("POST", CHAT_COMPLETIONS)
    system = one.body["messages"][0]
    assert system["role"] == "system" and system["content"]
    assert one.body["messages"] == [system, {"role": "user", "content": "Hello, my name is Ada"}]
    assert two.body["messages"] == [
        system,
        {"role": "user", "content": "Hello, my name is Ada"},
        {"role": "assistant", "content": "Nice to meet you, Ada."},
        {"role": "user", "content": "What is my name?"},
    ], "the app owns the history: the second request carries all of it"
    assert one.body["model"] == two.body["model"]
    assert [t["function"]["name"] for t in two.body["tools"]] == ["get_current_time", "calculate"]

    assert server.requests and server.token_requests
    for request in server.requests:
        assert request.path == "/openai/v1/chat/completions" and request.query == {}, "v1: no api-version"
        assert request.authorization == f"Bearer fake-token-for:{fake.audience}"
        assert "api-key" not in request.headers
    assert {t.query["resource"][0] for t in server.token_requests} == {fake.audience}


def test_cli_history_is_trimmed_to_the_budget(app_repo: AppRepo, tmp_path: Path) -> None:
    budget = 100
    with fake_foundry(app_repo, tmp_path) as fake:
        env = {**fake.env, "APP_CONTEXT_TOKENS": str(budget), "APP_INSTRUCTIONS": "Be brief."}
        for text in ["my name is Ada", *(f"note {i}: " + "x" * 40 for i in range(4))]:
            done = app_repo.cli("chat", "-c", "T", text, env=env)
            assert done.returncode == 0, done.stderr
        calls = fake.server.calls("POST", CHAT_COMPLETIONS)
    sent = calls[-1].body["messages"]
    assert sent[0] == {"role": "system", "content": "Be brief."}
    assert sent[1]["role"] == "user" and sent[-1]["content"].startswith("note 3: ")
    assert sum(estimate_tokens(m) for m in sent) <= budget
    full = []  # the whole conversation, rebuilt from what the user sent and what the fake answered
    for call in calls:
        full += [call.body["messages"][-1], {"role": "assistant", "content": call.answer.body["choices"][0]["message"]
                                             ["content"]}]
    full.pop()
    kept = sent[1:]
    assert kept == full[len(full) - len(kept):], "a run of the newest messages, in order"
    assert len(kept) < len(full) and full[0]["content"] == "my name is Ada", "the oldest turns were dropped"
    dropped_turn = full[len(full) - len(kept) - 2: len(full) - len(kept)]
    assert dropped_turn[0]["role"] == "user", "cut at a turn boundary"
    assert sum(estimate_tokens(m) for m in [*sent, *dropped_turn]) > budget, "nothing dropped that would have fit"


def test_cli_tool_round_trip_stream_and_throttling(app_repo: AppRepo, tmp_path: Path) -> None:
    with fake_foundry(app_repo, tmp_path) as fake:
        tool = app_repo.cli("chat", "calculate (2 + 3) * 4", env=fake.env)
        asked, answered = fake.server.calls("POST", CHAT_COMPLETIONS)[:2]
        repl = subprocess.run([str(app_repo.bin(app_repo.project)), "chat"], cwd=tmp_path, env=fake.env,
                              input="my name is Lin\ncalculate 6*7\nwhat is my name?\nexit\n", capture_output=True,
                              text=True, timeout=120, check=False)
        streamed = fake.server.calls("POST", CHAT_COMPLETIONS)[2:]
        fake.server.fail_next(times=50)
        throttled = app_repo.cli("chat", "hello", env={**fake.env, "APP_MAX_RETRIES": "1"})
    assert (tool.returncode, tool.stdout) == (0, "The calculate tool says: 20\n"), tool.stderr
    (call,) = asked.answer.body["choices"][0]["message"]["tool_calls"]
    # The app stores (and sends back) the id in the 9-character form every provider accepts.
    portable = {**call, "id": hashlib.sha256(call["id"].encode()).hexdigest()[:9]}
    assert answered.body["messages"][-2:] == [
        {"role": "assistant", "content": None, "tool_calls": [portable]},
        {"role": "tool", "tool_call_id": portable["id"], "content": "20"},
    ]

    assert repl.returncode == 0, repl.stderr
    for line in ("Nice to meet you, Lin.", "The calculate tool says: 42", "Your name is Lin."):
        assert line in repl.stdout
    assert streamed and all(c.body["stream"] is True for c in streamed)

    assert throttled.returncode == 1
    assert throttled.stderr.startswith("error: ") and "429" in throttled.stderr
    assert throttled.stderr.count("\n") == 1 and "Traceback" not in throttled.stderr
