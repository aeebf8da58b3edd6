"""OpenTelemetry tracing set-up and W3C context propagation over message headers.

Exporters are chosen by the standard ``OTEL_*`` variables: with ``OTEL_EXPORTER_OTLP_ENDPOINT``
(or ``OTEL_TRACES_EXPORTER=otlp``) spans go over OTLP/HTTP; otherwise tracing stays in-process
(context still propagates, so ``trace_id`` appears in logs and problem documents).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor


def configure_tracing(service: str) -> TracerProvider:
    """Install a global tracer provider named after the hosted service set."""
    provider = TracerProvider(
        resource=Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", service)})
    )
    exporter_choice = os.environ.get("OTEL_TRACES_EXPORTER", "")
    if exporter_choice == "otlp" or (
        exporter_choice != "none" and os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    ):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    return provider


def inject_context() -> dict[str, str]:
    """Headers carrying the current trace context (``traceparent``) for a message or request."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


def extract_context(headers: Mapping[str, str]) -> Context:
    """Trace context a producer put into ``headers``, to parent the consumer's span."""
    return propagate.extract(dict(headers))


def current_trace_id() -> str | None:
    span_context = trace.get_current_span().get_span_context()
    return format(span_context.trace_id, "032x") if span_context.is_valid else None
