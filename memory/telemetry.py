"""OpenTelemetry for Rapport: one tracer provider, its exporter chosen by OTEL_EXPORTER
(none, console or otlp), set up once per process when the apps are ready.
"""

from __future__ import annotations

from django.conf import settings
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SpanExporter,
)


def tracing_configure() -> TracerProvider | None:
    """Install the SDK's tracer provider with the configured exporter; with "none" the API's
    no-op tracer stays in place and spans cost nothing."""
    exporter = _exporter(settings.OTEL_EXPORTER)
    if exporter is None:
        return None
    provider = TracerProvider(
        resource=Resource.create({"service.name": settings.OTEL_SERVICE_NAME})
    )
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return provider


def _exporter(name: str) -> SpanExporter | None:
    if name == "console":
        return ConsoleSpanExporter()
    if name == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        endpoint = settings.OTEL_EXPORTER_OTLP_ENDPOINT.rstrip("/")
        return OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces" if endpoint else None)
    if name in ("", "none"):
        return None
    raise ValueError(f"OTEL_EXPORTER must be none, console or otlp, not {name!r}")
