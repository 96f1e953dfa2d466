"""Telemetry reaches a local stand-in for the Application Insights ingestion endpoint, with an Entra token.

The app runs in a subprocess (OpenTelemetry's providers are process-global) with the same settings azd would
write, plus a connection string whose IngestionEndpoint is a TLS server on 127.0.0.1.
"""

from __future__ import annotations

import gzip
import json
import os
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from conftest import tls_context
from fake_foundry import FakeFoundry

from {{ cookiecutter.package }}.settings import read_settings
from {{ cookiecutter.package }}.telemetry import configure

IKEY = "00000000-0000-4000-8000-000000000001"

SCRIPT = """
import json, logging, socket, threading, time, urllib.request
import uvicorn
from opentelemetry import trace
from opentelemetry.sdk.trace import SpanProcessor
from opentelemetry.trace import SpanKind
from {{ cookiecutter.package }} import telemetry
from {{ cookiecutter.package }}.api import create_app

logging.basicConfig(level=logging.WARNING)  # the app's own exception reaches stderr if a request fails
app = create_app()
# The server span of /chat ends after the response is sent, so the client can get its answer first; flushing
# then (under load) exported the batch without it. Wait until it has ended (it is queued for export by then:
# processors run in the order they were added) before flushing.
served = threading.Event()

class ServerSpanEnded(SpanProcessor):
    def on_end(self, span):
        if span.kind is SpanKind.SERVER:
            served.set()

trace.get_tracer_provider().add_span_processor(ServerSpanEnded())
sock = socket.socket()
sock.bind(("127.0.0.1", 0))
server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
thread.start()
while not server.started:
    time.sleep(0.01)
url = "http://127.0.0.1:%d/chat" % sock.getsockname()[1]
body = json.dumps({"message": "my name is Ada"}).encode()
request = urllib.request.Request(url, data=body, headers={"content-type": "application/json"})
with urllib.request.urlopen(request, timeout=30) as response:
    print(response.status, json.load(response)["reply"])
assert served.wait(30), "the /chat server span never ended"
telemetry.flush()
server.should_exit = True
thread.join(10)
"""


class Ingestion:
    """Accepts Application Insights track calls and keeps each request's headers and envelopes."""

    def __init__(self, tls: ssl.SSLContext) -> None:
        self.calls: list[tuple[dict[str, str], list[dict[str, Any]]]] = []
        ingestion = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length", "0")))
                if self.headers.get("content-encoding") == "gzip":
                    raw = gzip.decompress(raw)
                text = raw.decode()
                items = json.loads(text) if text.startswith("[") else [json.loads(line) for line in text.splitlines()]
                ingestion.calls.append(({k.lower(): v for k, v in self.headers.items()}, items))
                answer = json.dumps({"itemsReceived": len(items), "itemsAccepted": len(items), "errors": []}).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def ingestion(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Ingestion, Path]]:
    tls, ca_file = tls_context(tmp_path_factory.mktemp("ingestion-tls"))
    server = Ingestion(tls)
    yield server, ca_file
    server.server.shutdown()


def test_no_connection_string_means_no_telemetry(app_env: FakeFoundry) -> None:
    assert configure(read_settings()) is False


def test_a_chat_turn_is_exported_with_a_bearer_token_and_genai_spans(
    app_env: FakeFoundry, ingestion: tuple[Ingestion, Path], tmp_path: Path
) -> None:
    server, ca_file = ingestion
    # one CA bundle for both fakes: the service's (when it is TLS) and the ingestion endpoint's
    bundle = tmp_path / "ca-bundle.pem"
    existing = os.environ.get("REQUESTS_CA_BUNDLE")
    bundle.write_text((Path(existing).read_text() if existing else "") + ca_file.read_text())
    env = {
        **os.environ,
        "APPLICATIONINSIGHTS_CONNECTION_STRING": f"InstrumentationKey={IKEY};IngestionEndpoint={server.url}",
        "APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL": "true",  # no calls to Microsoft's statsbeat endpoints
        "OTEL_EXPERIMENTAL_RESOURCE_DETECTORS": "otel",  # no Azure VM metadata lookups
        "APP_AUTH_DISABLED": "true",
        "REQUESTS_CA_BUNDLE": str(bundle),
        "SSL_CERT_FILE": str(bundle),
{%- if cookiecutter.runtime == "agents" %}
        "AZURE_EXPERIMENTAL_ENABLE_GENAI_TRACING": "true",  # azure-ai-projects' (preview) Responses tracing
{%- endif %}
    }
    done = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.startswith("200 Nice to meet you, Ada.")
    assert server.calls, "nothing was exported"
    for headers, _ in server.calls:
        # Entra ingestion: a bearer token from the app's credential for Azure Monitor on every call
        assert headers.get("authorization", "").startswith("Bearer fake-token-for:https://monitor.azure.com")
    envelopes = [item for _, items in server.calls for item in items]
    kinds = {e["data"]["baseType"] for e in envelopes}
    assert "RequestData" in kinds
    requests = [e["data"]["baseData"] for e in envelopes if e["data"]["baseType"] == "RequestData"]
    assert any(r["name"].endswith("/chat") and r["responseCode"] == "200" for r in requests)
{%- if cookiecutter.runtime in ("inference", "agents", "responses") %}
    # the model call, with the GenAI semantic conventions' attributes
    genai = [
        e["data"]["baseData"] for e in envelopes
        if any(k.startswith("gen_ai.") for k in e["data"]["baseData"].get("properties", {}))
    ]
    assert genai, kinds
    props = genai[0]["properties"]
{%- if cookiecutter.runtime == "inference" %}
    assert props["gen_ai.operation.name"] == "chat" and props["gen_ai.request.model"]
{%- elif cookiecutter.runtime == "responses" %}
    # the app's own span per Responses API call (genai.py), exported like the instrumented ones
    assert genai[0]["name"] == "chat {{ cookiecutter.model_deployment }}", genai[0]
    assert props["gen_ai.operation.name"] == "chat" and props["gen_ai.provider.name"] == "azure.ai.openai"
    assert props["gen_ai.request.model"] == "{{ cookiecutter.model_deployment }}"
    assert props["gen_ai.response.id"] and props["gen_ai.usage.output_tokens"] == "5"
{%- else %}
    assert props.get("gen_ai.operation.name"), props
{%- endif %}
{%- endif %}
