"""GenAI client spans for the Responses API calls, named and shaped by the OpenTelemetry GenAI conventions.

opentelemetry-instrumentation-openai-v2 (the OpenTelemetry project's own OpenAI instrumentation, used by the
other runtimes) wraps chat completions and embeddings only, so each `responses.create` / `responses.stream`
call gets its span here: kind CLIENT, named "chat <model>", with gen_ai.operation.name, gen_ai.provider.name,
gen_ai.request.model, server.address/port, then gen_ai.response.id, gen_ai.response.model and
gen_ai.usage.input_tokens/output_tokens from the answer, or error.type when the call fails
(https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-spans/). No prompt or reply text is recorded.
The span is not made the current one: a streamed call spans several steps of the caller's iteration.
Without telemetry configured (no APPLICATIONINSIGHTS_CONNECTION_STRING) the tracer is a no-op.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from openai.types.responses import Response
    from opentelemetry.trace import Span, TracerProvider

# gen_ai.provider.name's well-known value for Azure OpenAI (GenAI semantic conventions, provider list)
PROVIDER = "azure.ai.openai"
OPERATION = "chat"


class ModelCall:
    """The span of one model call; `answered` records what the response says about itself."""

    def __init__(self, span: Span) -> None:
        self.span = span

    def answered(self, response: Response) -> None:
        self.span.set_attribute("gen_ai.response.id", response.id)
        self.span.set_attribute("gen_ai.response.model", response.model)
        if response.usage is not None:
            self.span.set_attribute("gen_ai.usage.input_tokens", response.usage.input_tokens)
            self.span.set_attribute("gen_ai.usage.output_tokens", response.usage.output_tokens)


@contextmanager
def model_call(model: str, endpoint: str, tracer_provider: TracerProvider | None = None) -> Iterator[ModelCall]:
    """A CLIENT span around one Responses API call to `endpoint` with deployment `model`."""
    from opentelemetry import trace
    from opentelemetry.trace import SpanKind, StatusCode

    url = urlsplit(endpoint)
    attributes: dict[str, str | int] = {
        "gen_ai.operation.name": OPERATION,
        "gen_ai.provider.name": PROVIDER,
        "gen_ai.request.model": model,
        "server.address": url.hostname or "",
        "server.port": url.port or (443 if url.scheme == "https" else 80),
    }
    tracer = trace.get_tracer(__name__, tracer_provider=tracer_provider)
    span = tracer.start_span(f"{OPERATION} {model}", kind=SpanKind.CLIENT, attributes=attributes)
    try:
        yield ModelCall(span)
    except BaseException as exc:
        # error.type: the exception's fully qualified type, as the conventions ask when there is no error code
        span.set_attribute("error.type", f"{type(exc).__module__}.{type(exc).__qualname__}")
        span.set_status(StatusCode.ERROR, type(exc).__name__)
        raise
    finally:
        span.end()
