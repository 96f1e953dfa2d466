"""Fixtures: a fake Foundry on 127.0.0.1 serving this app's runtime, and an environment pointing the app at it.

Nothing is mocked inside the app: the real openai and azure-identity clients talk HTTP to the fake, and the
token comes from its managed-identity endpoint through the same DefaultAzureCredential the app uses in Azure.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Iterator
from pathlib import Path

import fake_service
import pytest
from fake_foundry import FakeFoundry

from {{ cookiecutter.package }}.chat import make_service
from {{ cookiecutter.package }}.service import ChatService
from {{ cookiecutter.package }}.settings import load_settings

# The audience the service documents (tests/fake_service.py), never the app's own constant: a wrong scope in
# auth.py gets a 401 from the fake, as it would from the service.
AUDIENCE: str = fake_service.AUDIENCE
BEARER = "Bearer fake-token-for:" + AUDIENCE
_LEAKY = (
    "AZURE_", "APP_", "IDENTITY_", "MSI_", "IMDS_", "SSL_CERT_", "REQUESTS_CA_BUNDLE", "OPENAI_",
    "APPLICATIONINSIGHTS_", "OTEL_",{% if cookiecutter.framework == 'langchain' %} "LANGSMITH_", "LANGCHAIN_",{% endif %}
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No setting leaks in from your shell or your .env: each test runs in an empty directory."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith(_LEAKY):
            monkeypatch.delenv(name)


def tls_context(directory: Path) -> tuple[ssl.SSLContext, Path]:
    """A server certificate for 127.0.0.1 from a throwaway CA, and the CA file clients should trust."""
    import trustme

    ca = trustme.CA()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(server)
    ca_file = directory / "fake-foundry-ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return server, ca_file


@pytest.fixture
def foundry(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeFoundry]:
    """The fake service; https with a trusted test CA when the runtime's SDK insists on TLS for bearer tokens."""
    tls = None
    if getattr(fake_service, "TLS", False):
        tls, ca_file = tls_context(tmp_path_factory.mktemp("tls"))
        monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))  # openai (httpx2)
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca_file))  # azure-core (requests)
    with FakeFoundry(AUDIENCE, tls=tls) as server:
        server.runtime = fake_service.install(server)
        yield server


@pytest.fixture
def app_env(foundry: FakeFoundry, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeFoundry:
    """Settings pointing at the fake (as azd would write them), a private state file, quick retries."""
    env = {
        **foundry.identity_env(),
        **fake_service.app_env(foundry),
        "APP_STATE_PATH": str(tmp_path / "state" / "app.sqlite3"),
        "APP_MAX_RETRIES": "2",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return foundry


@pytest.fixture
def service(app_env: FakeFoundry) -> ChatService:
    """The app's chat service, built from the environment exactly as the CLI and the API build it."""
    return make_service(load_settings())
