"""OpenTelemetry to Application Insights with an Entra token: HTTP and OpenAI (GenAI conventions) spans.

Off unless APPLICATIONINSIGHTS_CONNECTION_STRING is set (never needed locally or in tests). The component
keeps local auth off, so the exporter authenticates with the app's credential (Monitoring Metrics Publisher
in infra/); the connection string only says where to send. OpenAI calls are traced by the OpenTelemetry
project's own instrumentation (opentelemetry-instrumentation-openai-v2: gen_ai.* attributes, no message
content unless OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true); it covers chat completions, not
the Responses API{% if cookiecutter.runtime == "agents" %} (azure-ai-projects' instrumentor does, see below){% elif cookiecutter.runtime == "responses" %} (genai.py makes those spans){% endif %}.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI

    from {{ cookiecutter.package }}.settings import Settings

_lock = threading.Lock()
_configured: list[bool] = []


def configure(settings: Settings, app: FastAPI | None = None) -> bool:
    """Start exporting (once per process) when a connection string is set; True when telemetry is on."""
    connection = settings.applicationinsights_connection_string.strip()
    if not connection:
        return False
    with _lock:
        if not _configured:
            from azure.monitor.opentelemetry import configure_azure_monitor
            from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

            from {{ cookiecutter.package }}.auth import credential

            # The distro's default sampler (azure-monitor-opentelemetry >= 1.8) is rate-limited to 5 traces a
            # second and adapts over time, so which requests are kept depends on timing: a busy or slow start
            # drops the first ones. Keep every trace unless the operator chose a sampler with OTEL_TRACES_SAMPLER
            # (and OTEL_TRACES_SAMPLER_ARG), which then wins.{% if cookiecutter.runtime == "agents" %} It also
            # matters for correctness here: azure-ai-projects' Responses instrumentor raises AttributeError on a
            # sampled-out (non-recording) span, which failed the chat turn with a 500.{% endif %}
            sampling: dict[str, float] = {} if os.environ.get("OTEL_TRACES_SAMPLER") else {"sampling_ratio": 1.0}
            configure_azure_monitor(
                connection_string=connection,
                credential=credential(settings),
                logger_name="{{ cookiecutter.package }}",
                enable_live_metrics=False,
                **sampling,
            )
            OpenAIInstrumentor().instrument()  # type: ignore[no-untyped-call]
{%- if cookiecutter.runtime == "agents" %}
            # openai-v2 does not wrap the Responses API the agent runs through; azure-ai-projects' instrumentor
            # does (gen_ai.* spans for responses and conversations). It is a preview: it only acts when
            # AZURE_EXPERIMENTAL_ENABLE_GENAI_TRACING=true, which infra/ does not set for you.
            from azure.ai.projects.telemetry import AIProjectInstrumentor

            AIProjectInstrumentor().instrument()
{%- endif %}
            _configured.append(True)
    if app is not None:
        # the distro instruments FastAPI apps created after it is configured; this one already exists
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

        FastAPIInstrumentor.instrument_app(app, excluded_urls="healthz")
    return True


def flush(timeout_ms: int = 10_000) -> None:
    """Export what is buffered now (before a short-lived process exits)."""
    from opentelemetry import trace

    provider = trace.get_tracer_provider()
    force_flush = getattr(provider, "force_flush", None)
    if force_flush is not None:
        force_flush(timeout_ms)
