"""The generated Responses app: its CLI chains turns by previous_response_id."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.apps.harness import AppRepo, fake_foundry

RUNTIME = "responses"
RESPONSES = r"/openai/v1/responses"

pytestmark = pytest.mark.slow


def test_cli_chats_twice_with_one_conversation_id(app_repo: AppRepo, tmp_path: Path) -> None:
    with fake_foundry(app_repo, tmp_path) as fake:
        first = app_repo.cli("chat", "--conversation", "X", "Hello, my name is Ada", env=fake.env)
        second = app_repo.cli("chat", "--conversation", "X", "What is my name?", env=fake.env)
        server = fake.server
    assert (first.returncode, first.stdout, first.stderr) == (0, "Nice to meet you, Ada.\n", "conversation: X\n")
    assert (second.returncode, second.stdout) == (0, "Your name is Ada.\n"), second.stderr

    one, two = server.calls("POST", RESPONSES)
    assert "previous_response_id" not in one.body
    assert two.body["previous_response_id"] == one.response["id"]
    assert two.body["input"] == [{"role": "user", "content": "What is my name?"}]
    assert "Ada" not in json.dumps(two.body), "old messages must stay on the service"
    assert two.body["store"] is True

    assert server.requests and server.token_requests
    for request in server.requests:
        assert request.authorization == f"Bearer fake-token-for:{fake.audience}"
        assert "api-key" not in request.headers
    assert {t.query["resource"][0] for t in server.token_requests} == {fake.audience}


def test_cli_tool_round_trip_and_throttling(app_repo: AppRepo, tmp_path: Path) -> None:
    with fake_foundry(app_repo, tmp_path) as fake:
        tool = app_repo.cli("chat", "calculate (2 + 3) * 4", env=fake.env)
        fake.server.fail_next(times=50)
        throttled = app_repo.cli("chat", "hello", env={**fake.env, "APP_MAX_RETRIES": "1"})
        asked, answered = fake.server.calls("POST", RESPONSES)[:2]
    assert (tool.returncode, tool.stdout) == (0, "The calculate tool says: 20\n"), tool.stderr
    call = next(i for i in asked.response["output"] if i["type"] == "function_call")
    assert answered.body["input"] == [{"type": "function_call_output", "call_id": call["call_id"], "output": "20"}]
    assert answered.body["previous_response_id"] == asked.response["id"]
    assert throttled.returncode == 1
    assert throttled.stderr.startswith("error: ") and "429" in throttled.stderr
    assert throttled.stderr.count("\n") == 1 and "Traceback" not in throttled.stderr
