"""The generated Agents app: `agent sync` versions the agent only when it changed, and
its CLI runs the agent by reference on one server-side conversation under the project endpoint."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.apps.harness import AppRepo, fake_foundry

RUNTIME = "agents"

pytestmark = pytest.mark.slow


def test_agent_sync_then_chat_twice_with_one_conversation_id(app_repo: AppRepo, tmp_path: Path) -> None:
    with fake_foundry(app_repo, tmp_path) as fake:
        service = fake.server.runtime
        project_path = app_repo.load_fakes()[1].PROJECT_PATH
        service.agents.clear()  # a fresh project: the agent does not exist yet
        synced = app_repo.cli("agent", "sync", env=fake.env)
        again = app_repo.cli("agent", "sync", env=fake.env)
        first = app_repo.cli("chat", "--conversation", "X", "Hello, my name is Ada", env=fake.env)
        second = app_repo.cli("chat", "--conversation", "X", "What is my name?", env=fake.env)
        server = fake.server
    agent = app_repo.project
    assert (synced.returncode, synced.stdout) == (0, f"agent {agent}: created version 1\n"), synced.stderr
    assert (again.returncode, again.stdout) == (0, f"agent {agent}: up to date (version 1)\n"), again.stderr
    assert len(service.agents[agent]) == 1
    assert (first.returncode, first.stdout, first.stderr) == (0, "Nice to meet you, Ada.\n", "conversation: X\n")
    assert (second.returncode, second.stdout) == (0, "Your name is Ada.\n"), second.stderr

    # Everything goes to the project endpoint: agents through azure-ai-projects, the rest through its OpenAI client.
    assert {r.path.split("/agents/")[0] for r in server.calls(path=r".*/agents/.*")} == {project_path}
    (created,) = server.calls("POST", project_path + "/openai/v1/conversations")
    conversation = created.response["id"]
    one, two = server.calls("POST", project_path + "/openai/v1/responses")
    for request in (one, two):
        assert request.body["agent_reference"] == {"name": agent, "type": "agent_reference"}
        assert request.body["conversation"] == conversation  # the same server conversation in both processes
        assert "model" not in request.body and "previous_response_id" not in request.body
    assert two.body["input"] == "What is my name?"  # the history stays on the service

    assert server.requests and server.token_requests
    for request in server.requests:
        assert request.authorization == f"Bearer fake-token-for:{fake.audience}"
        assert "api-key" not in request.headers
    assert fake.audience == "https://ai.azure.com"
    assert {t.query["resource"][0] for t in server.token_requests} == {fake.audience}


def test_changed_instructions_make_exactly_one_new_version(app_repo: AppRepo, tmp_path: Path) -> None:
    with fake_foundry(app_repo, tmp_path) as fake:
        service = fake.server.runtime
        service.agents.clear()
        changed = {**fake.env, "APP_INSTRUCTIONS": "Answer in French."}
        runs = [app_repo.cli("agent", "sync", env=env) for env in (fake.env, changed, changed)]
        check = app_repo.cli("agent", "sync", "--check", env=fake.env)
        asked = app_repo.cli("chat", "what are your instructions?", env=changed)
    agent = app_repo.project
    assert [r.stdout for r in runs] == [
        f"agent {agent}: created version 1\n",
        f"agent {agent}: created version 2 (the definition changed since version 1)\n",
        f"agent {agent}: up to date (version 2)\n",
    ], [r.stderr for r in runs]
    assert [v["definition"]["instructions"] for v in service.agents[agent]][1] == "Answer in French."
    assert check.returncode == 1 and "out of date" in check.stdout  # the default instructions differ from version 2
    assert asked.stdout == "My instructions: Answer in French.\n", asked.stderr


def test_cli_tool_round_trip_and_throttling(app_repo: AppRepo, tmp_path: Path) -> None:
    with fake_foundry(app_repo, tmp_path) as fake:
        responses = app_repo.load_fakes()[1].RESPONSES
        tool = app_repo.cli("chat", "calculate (2 + 3) * 4", env=fake.env)
        fake.server.fail_next(times=50)
        throttled = app_repo.cli("chat", "hello", env={**fake.env, "APP_MAX_RETRIES": "1"})
        throttled_sync = app_repo.cli("agent", "sync", env={**fake.env, "APP_MAX_RETRIES": "0"})
        asked, answered = fake.server.calls("POST", responses)[:2]
    assert (tool.returncode, tool.stdout) == (0, "The calculate tool says: 20\n"), tool.stderr
    call = next(i for i in asked.response["output"] if i["type"] == "function_call")
    assert answered.body["input"] == [{"type": "function_call_output", "call_id": call["call_id"], "output": "20"}]
    assert answered.body["conversation"] == asked.body["conversation"]
    for result in (throttled, throttled_sync):
        assert result.returncode == 1
        assert result.stderr.startswith("error: ") and "429" in result.stderr
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_missing_setting_is_one_line(app_repo: AppRepo, tmp_path: Path) -> None:
    from tests.apps.harness import clean_env

    for command in (("chat", "hello"), ("agent", "sync")):
        result = app_repo.run(app_repo.project, *command, env=clean_env(APP_STATE_PATH=str(tmp_path / "s.sqlite3")))
        assert result.returncode == 1
        assert result.stderr.startswith("error: missing setting(s): AZURE_AI_PROJECT_ENDPOINT")
        assert result.stderr.count("\n") == 1
