"""`agent sync`: the declared agent becomes a new version only when its definition changed, over the real SDK."""

from __future__ import annotations

import json

import fake_service
import pytest
from conftest import BEARER
from fake_foundry import FakeFoundry

from {{ cookiecutter.package }}.agent import (
    DEFAULT_AGENT_NAME,
    FINGERPRINT_KEY,
    declared_agent,
    project_client,
    sync,
)
from {{ cookiecutter.package }}.cli import main
from {{ cookiecutter.package }}.errors import ServiceError, SettingsError
from {{ cookiecutter.package }}.settings import Settings, load_settings
from {{ cookiecutter.package }}.tools import TOOLS

VERSIONS = fake_service.AGENT + "/versions"


@pytest.fixture
def fresh(app_env: FakeFoundry) -> FakeFoundry:
    """A project where the agent does not exist yet{% if cookiecutter.agents %} (its specialists do: specialists.py){% endif %}."""
    app_env.runtime.forget_agents()
    return app_env


def run_sync(check: bool = False) -> str:
    settings = load_settings()
    project = project_client(settings)
    return sync(project, declared_agent(settings, project), settings, check=check).describe()


def versions(server: FakeFoundry, name: str = DEFAULT_AGENT_NAME) -> list[dict[str, object]]:
    return list(server.runtime.agents.get(name, []))


def test_first_sync_creates_version_1_then_nothing(fresh: FakeFoundry) -> None:
    assert run_sync() == f"agent {DEFAULT_AGENT_NAME}: created version 1"
    assert run_sync() == f"agent {DEFAULT_AGENT_NAME}: up to date (version 1)"
    assert run_sync() == f"agent {DEFAULT_AGENT_NAME}: up to date (version 1)"
    assert len(versions(fresh)) == 1
    assert len(fresh.calls("POST", VERSIONS)) == 1


def test_changed_instructions_create_exactly_one_version(fresh: FakeFoundry, monkeypatch: pytest.MonkeyPatch) -> None:
    run_sync()
    monkeypatch.setenv("APP_INSTRUCTIONS", "Answer like a pirate.")
    assert run_sync().endswith("created version 2 (the definition changed since version 1)")
    assert run_sync().endswith("up to date (version 2)")
    assert [v["definition"]["instructions"] for v in versions(fresh)] == [  # type: ignore[index]
        Settings.model_fields["app_instructions"].default,
        "Answer like a pirate.",
    ]


@pytest.mark.parametrize(
    ("name", "value", "tool"),
    [{% if 'code-interpreter' not in cookiecutter.tools %}("APP_CODE_INTERPRETER", "true", {"type": "code_interpreter", "container": {"type": "auto"}}),
     {% endif %}("APP_FILE_SEARCH_VECTOR_STORE_IDS", "vs_1, vs_2", {"type": "file_search", "vector_store_ids": ["vs_1", "vs_2"]}),
     ("AZURE_AI_MODEL_DEPLOYMENT", "other-deployment", None)],
)
def test_a_changed_setting_is_a_changed_definition(
    fresh: FakeFoundry, monkeypatch: pytest.MonkeyPatch, name: str, value: str, tool: dict[str, object] | None
) -> None:
    run_sync()
    fresh.runtime.deployments.add("other-deployment")
    for store in ("vs_1", "vs_2"):  # vector stores made elsewhere, named in the setting
        fresh.runtime.add_vector_store(store, store_id=store)
    monkeypatch.setenv(name, value)
    assert run_sync().endswith("created version 2 (the definition changed since version 1)")
    assert run_sync().endswith("up to date (version 2)")
    latest = versions(fresh)[-1]["definition"]
    if tool is not None:
        assert tool in latest["tools"]  # type: ignore[index]
    else:
        assert latest["model"] == "other-deployment"  # type: ignore[index]


def test_a_version_made_elsewhere_is_replaced_once(app_env: FakeFoundry) -> None:
    assert len(versions(app_env)) == 1  # the fake's agent from an earlier deploy, without a fingerprint
    assert run_sync().endswith("created version 2 (the definition changed since version 1)")
    assert run_sync().endswith("up to date (version 2)")


def test_the_wire_format_of_a_sync(fresh: FakeFoundry) -> None:
    run_sync()
    get, post = [r for r in fresh.requests if "/agents/" in r.path]
    agent_path = f"{fake_service.PROJECT_PATH}/agents/{DEFAULT_AGENT_NAME}"
    assert (get.method, get.path, get.query) == ("GET", agent_path, {"api-version": ["v1"]})
    assert (post.method, post.path, post.query) == ("POST", agent_path + "/versions", {"api-version": ["v1"]})
    assert get.status == 404 and post.status == 200
    definition = post.body["definition"]
    assert definition["kind"] == "prompt"
    assert definition["model"] == fake_service.DEPLOYMENT
    assert definition["instructions"] == load_settings().app_instructions
    functions = {t["name"]: t for t in definition["tools"] if t["type"] == "function"}
    assert set(functions) == set(TOOLS)
    assert all(t["strict"] is True and t["parameters"]["additionalProperties"] is False for t in functions.values())
    settings = load_settings()
    assert post.body["metadata"][FINGERPRINT_KEY] == declared_agent(settings, project_client(settings)).fingerprint
    for request in fresh.requests:
        assert request.authorization == BEARER
        assert "api-key" not in request.headers


def test_fingerprint_ignores_key_order_but_not_content(app_env: FakeFoundry) -> None:
    spec = declared_agent(load_settings())
    shuffled = type(spec)(spec.name, spec.description, dict(reversed(list(spec.definition.items()))))
    assert shuffled.fingerprint == spec.fingerprint
    changed = type(spec)(spec.name, spec.description + ".", spec.definition)
    assert changed.fingerprint != spec.fingerprint


def test_check_changes_nothing_and_fails_when_out_of_date(
    fresh: FakeFoundry, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["agent", "sync", "--check"]) == 1
    assert "does not exist yet" in capsys.readouterr().out
    assert fresh.calls("POST") == []
    assert main(["agent", "sync"]) == 0
    # The main agent comes last{% if cookiecutter.agents %} (its specialists first: test_specialists.py){% endif %}.
    assert capsys.readouterr().out.splitlines()[-1] == f"agent {DEFAULT_AGENT_NAME}: created version 1"
    assert main(["agent", "sync", "--check"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == f"agent {DEFAULT_AGENT_NAME}: up to date (version 1)"


def test_show_prints_the_declared_definition_without_a_request(
    app_env: FakeFoundry, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["agent", "show"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["name"] == DEFAULT_AGENT_NAME
    assert shown["definition"]["model"] == fake_service.DEPLOYMENT
    assert shown["fingerprint"] == declared_agent(load_settings()).fingerprint
    assert app_env.requests == []


def test_agent_name_from_settings(fresh: FakeFoundry, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_AGENT_NAME", "support-bot")
    assert run_sync() == "agent support-bot: created version 1"
    assert versions(fresh, "support-bot") and not versions(fresh)


@pytest.mark.parametrize("name", ["-bad", "bad-", "has space", "under_score", "x" * 64])
def test_an_invalid_agent_name_is_a_settings_error(
    app_env: FakeFoundry, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.setenv("APP_AGENT_NAME", name)
    with pytest.raises(SettingsError, match="APP_AGENT_NAME"):
        declared_agent(load_settings())
    assert app_env.requests == []


def test_throttling_is_retried(fresh: FakeFoundry) -> None:
    fresh.fail_next(times=2)  # APP_MAX_RETRIES=2 in the test environment
    assert run_sync().endswith("created version 1")
    statuses = [r.status for r in fresh.requests]  # the first request (a lookup, or the agent's) retried twice
    assert statuses[:3] == [429, 429, statuses[2]] and 429 not in statuses[2:] and statuses[-1] == 200


def test_throttling_after_retries_is_one_line(fresh: FakeFoundry, capsys: pytest.CaptureFixture[str]) -> None:
    fresh.fail_next(times=10)
    assert main(["agent", "sync"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "429" in err and "2 retries" in err and err.count("\n") == 1
    assert [r.status for r in fresh.requests] == [429, 429, 429]
    assert versions(fresh) == []


def test_missing_setting_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["agent", "sync"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: missing setting(s): ") and "AZURE_AI_PROJECT_ENDPOINT" in err
    assert err.count("\n") == 1


def test_an_unknown_deployment_is_reported(fresh: FakeFoundry, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_AI_MODEL_DEPLOYMENT", "no-such-deployment")
    with pytest.raises(ServiceError, match=r"400.*no-such-deployment") as err:
        run_sync()
    assert err.value.status == 400


def test_a_wrong_project_endpoint_is_reported(fresh: FakeFoundry, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_AI_PROJECT_ENDPOINT", fresh.url + "/api/projects/elsewhere")
    with pytest.raises(ServiceError, match=r"404.*api/projects/<project>"):
        run_sync()


def test_plain_http_is_refused_before_a_token_is_sent(fresh: FakeFoundry, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_AI_PROJECT_ENDPOINT", fresh.url.replace("https:", "http:") + fake_service.PROJECT_PATH)
    with pytest.raises(ServiceError, match="must be an https URL"):
        run_sync()
    assert fresh.requests == []


def test_a_token_for_another_audience_is_refused_clearly(fresh: FakeFoundry) -> None:
    fresh.audience = "https://cognitiveservices.azure.com"
    with pytest.raises(ServiceError, match="401") as err:
        run_sync()
    assert err.value.status == 401
