"""GenAI client spans of the Responses API calls, read from OpenTelemetry's in-memory exporter.

The calls go to the fake service over HTTP with the real openai client; the spans are the app's own
(genai.py), recorded by an SDK tracer provider handed to the chat service instead of the process-wide one.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from fake_foundry import FakeFoundry
from fake_service import DEPLOYMENT, FAIL_PHRASE, RESPONSES
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from {{ cookiecutter.package }}.auth import openai_client
from {{ cookiecutter.package }}.chat import ResponsesChat
from {{ cookiecutter.package }}.errors import ServiceError
from {{ cookiecutter.package }}.settings import load_settings
from {{ cookiecutter.package }}.store import ResponseIdStore


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    found = InMemorySpanExporter()
    yield found
    found.shutdown()


@pytest.fixture
def traced(app_env: FakeFoundry, exporter: InMemorySpanExporter) -> Iterator[ResponsesChat]:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    settings = load_settings()
    store = ResponseIdStore(settings.app_state_path)
    client = openai_client(settings, settings.azure_openai_endpoint)
    yield ResponsesChat(client, settings, store, tracer_provider=provider)
    store.close()
    provider.shutdown()


def _genai(exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if s.attributes and "gen_ai.operation.name" in s.attributes]


def test_each_model_call_is_a_genai_client_span(
    app_env: FakeFoundry, traced: ResponsesChat, exporter: InMemorySpanExporter
) -> None:
    traced.reply(None, "calculate 6*7")  # two calls: the tool call, then the answer
    sent = app_env.calls("POST", RESPONSES)
    spans = _genai(exporter)
    assert len(spans) == len(sent) == 2
    host = urlsplit(load_settings().azure_openai_endpoint)
    for span, call in zip(spans, sent, strict=True):
        attrs = dict(span.attributes or {})
        assert span.name == f"chat {DEPLOYMENT}" and span.kind is SpanKind.CLIENT
        assert span.status.status_code is StatusCode.UNSET
        assert attrs == {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "azure.ai.openai",
            "gen_ai.request.model": DEPLOYMENT,
            "server.address": host.hostname,
            "server.port": host.port,
            # what the service answered, as it said it
            "gen_ai.response.id": call.response["id"],
            "gen_ai.response.model": call.response["model"],
            "gen_ai.usage.input_tokens": call.response["usage"]["input_tokens"],
            "gen_ai.usage.output_tokens": call.response["usage"]["output_tokens"],
        }
    # no prompt or reply text in the telemetry
    assert "6*7" not in str([dict(s.attributes or {}) for s in spans])


def test_a_streamed_call_is_one_span_that_ends_with_the_stream(
    app_env: FakeFoundry, traced: ResponsesChat, exporter: InMemorySpanExporter
) -> None:
    stream = traced.stream(None, "my name is Ada")
    first = next(iter(stream))
    assert first and not _genai(exporter), "the span is still open while the reply streams"
    "".join(stream)
    (span,) = _genai(exporter)
    (call,) = app_env.calls("POST", RESPONSES)
    assert call.body.get("stream") is True
    assert span.attributes is not None and span.attributes["gen_ai.response.id"] == call.response["id"]
    assert span.attributes["gen_ai.usage.output_tokens"] == call.response["usage"]["output_tokens"]


def test_a_failed_call_has_error_type(
    app_env: FakeFoundry, traced: ResponsesChat, exporter: InMemorySpanExporter
) -> None:
    with pytest.raises(ServiceError):
        "".join(traced.stream(None, FAIL_PHRASE))
    (span,) = _genai(exporter)
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes is not None and str(span.attributes["error.type"]).endswith(".errors.ServiceError")
    assert "gen_ai.response.id" not in span.attributes
