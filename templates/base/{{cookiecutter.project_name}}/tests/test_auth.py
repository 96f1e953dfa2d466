"""Keyless: every request carries an Entra ID bearer token for the runtime's scope, and no key of any kind."""

from __future__ import annotations

from pathlib import Path

import fake_service
import pytest
from conftest import AUDIENCE, BEARER, tls_context
from fake_foundry import FakeFoundry

from {{ cookiecutter.package }}.auth import TOKEN_SCOPE, credential, openai_v1_url
from {{ cookiecutter.package }}.chat import make_service
from {{ cookiecutter.package }}.errors import ServiceError
from {{ cookiecutter.package }}.settings import load_settings


def test_scope_is_the_audience_the_service_documents() -> None:
    # fake_service.AUDIENCE is written down from the service's docs, independently of auth.py.
    assert TOKEN_SCOPE == fake_service.AUDIENCE + "/.default"


def test_every_request_carries_the_bearer_token_and_no_key(app_env: FakeFoundry) -> None:
    service = make_service(load_settings())
    first = service.reply(None, "my name is Ada")
    service.reply(first.conversation_id, "calculate 1+1")
    assert app_env.requests
    for request in app_env.requests:
        assert request.authorization == BEARER
        assert "api-key" not in request.headers
    assert {r.query["resource"][0] for r in app_env.token_requests} == {AUDIENCE}


def test_user_assigned_identity_when_client_id_is_set(app_env: FakeFoundry, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_CLIENT_ID", "00000000-0000-0000-0000-00000000abcd")
    make_service(load_settings()).reply(None, "hello")
    assert app_env.token_requests[0].query["client_id"] == ["00000000-0000-0000-0000-00000000abcd"]


def test_client_id_outside_azure_does_not_force_managed_identity(
    app_env: FakeFoundry, monkeypatch: pytest.MonkeyPatch
) -> None:
    # azd writes AZURE_CLIENT_ID into the env file developers copy to .env; on a laptop az login must still work.
    from azure.identity import DefaultAzureCredential, ManagedIdentityCredential

    for name in ("IDENTITY_ENDPOINT", "MSI_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AZURE_CLIENT_ID", "00000000-0000-0000-0000-00000000abcd")
    assert isinstance(credential(load_settings()), DefaultAzureCredential)
    monkeypatch.setenv("IDENTITY_ENDPOINT", "http://127.0.0.1:1/token")
    assert isinstance(credential(load_settings()), ManagedIdentityCredential)


def test_a_token_for_another_audience_is_refused_clearly(app_env: FakeFoundry) -> None:
    app_env.audience = "https://management.azure.com"
    with pytest.raises(ServiceError, match="401"):
        make_service(load_settings()).reply(None, "hello")


def test_failed_sign_in_is_one_clear_error(app_env: FakeFoundry, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_CLIENT_ID", "00000000-0000-0000-0000-00000000abcd")
    monkeypatch.setenv("IDENTITY_HEADER", "not-the-right-secret")  # the identity endpoint refuses the request
    with pytest.raises(ServiceError, match="Entra ID token"):
        make_service(load_settings()).reply(None, "hello")


def test_https_endpoint_with_a_trusted_ca(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    tls, ca_file = tls_context(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))  # openai (httpx2) reads this one
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca_file))  # azure-identity (requests) this one
    with FakeFoundry(AUDIENCE, tls=tls) as server:
        server.runtime = fake_service.install(server)
        env = {**server.identity_env(), **fake_service.app_env(server), "APP_STATE_PATH": str(tmp_path / "s.sqlite3")}
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        assert server.url.startswith("https://127.0.0.1:")
        assert make_service(load_settings()).reply(None, "my name is Ada").text == "Nice to meet you, Ada."
    assert server.requests and all(r.authorization == BEARER for r in server.requests)


@pytest.mark.parametrize(
    ("endpoint", "expected"),
    [
        ("https://acct.openai.azure.com/openai/v1/", "https://acct.openai.azure.com/openai/v1/"),
        ("https://acct.openai.azure.com/openai/v1", "https://acct.openai.azure.com/openai/v1/"),
        ("https://acct.openai.azure.com/", "https://acct.openai.azure.com/openai/v1/"),
        (" https://acct.services.ai.azure.com ", "https://acct.services.ai.azure.com/openai/v1/"),
    ],
)
def test_openai_v1_url(endpoint: str, expected: str) -> None:
    assert openai_v1_url(endpoint) == expected
