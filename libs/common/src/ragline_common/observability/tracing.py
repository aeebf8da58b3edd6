"""OpenTelemetry tracing set-up and W3C context propagation over message headers.

Exporters are chosen by the standard ``OTEL_*`` variables. ``OTEL_TRACES_EXPORTER`` is a comma
list of ``otlp``, ``console`` and ``none``; unset, spans go over OTLP/HTTP only when an OTLP
endpoint is configured (``OTEL_EXPORTER_OTLP_ENDPOINT`` or ``..._TRACES_ENDPOINT``), so a laptop
run does not retry exports to a collector that is not there. The exporter itself reads the
endpoint, headers and timeout; the batch processor reads ``OTEL_BSP_*``; the sampler reads
``OTEL_TRACES_SAMPLER``. Without an exporter, context still propagates, so ``trace_id`` appears
in logs and problem documents; but a span nobody exports is not recorded either (unless
``OTEL_TRACES_SAMPLER`` asks for it): its attributes, events and end were 30-70 us of every
search (issue 15) for nothing.

Every span started while a tenant is bound to the log context carries ``tenant.id``
(:class:`TenantSpanProcessor`), so the tenant is recorded once, where it is authenticated, and
not at every span.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import structlog
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased, Sampler

TENANT_ATTRIBUTE = "tenant.id"
_OTLP_ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")


class TenantSpanProcessor(SpanProcessor):
    """Stamp ``tenant.id`` on each new span from the tenant bound to the log context.

    The log context (structlog contextvars) is where request and message handlers already record
    the tenant (see :func:`ragline_common.observability.tenancy.bind_tenant`); reading it here
    keeps logs and spans agreeing on the tenant without a second bookkeeping channel.
    """

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        tenant_id = structlog.contextvars.get_contextvars().get("tenant_id")
        if tenant_id:
            span.set_attribute(TENANT_ATTRIBUTE, str(tenant_id))

    def on_end(self, span: ReadableSpan) -> None:
        return None


def _exporter_choices() -> list[str]:
    configured = os.environ.get("OTEL_TRACES_EXPORTER", "").strip()
    if configured:
        return [choice.strip().lower() for choice in configured.split(",") if choice.strip()]
    return ["otlp"] if any(os.environ.get(name) for name in _OTLP_ENDPOINT_VARIABLES) else []


def _sampler(choices: list[str]) -> Sampler | None:
    """Parent-based never-on when no span can leave the process; otherwise None, the SDK's
    default (``OTEL_TRACES_SAMPLER``, else parent-based always-on).

    An unsampled span still gets a trace id and a span id, so logs, problem documents and the
    ``traceparent`` sent onwards name the trace as before. A caller's sampled trace is still
    recorded (parent-based). A peer service that exports while this process does not would see
    these requests as unsampled: give the processes of one deployment the same variables.
    """
    exporting = any(choice != "none" for choice in choices)
    if exporting or os.environ.get("OTEL_TRACES_SAMPLER"):
        return None
    return ParentBased(ALWAYS_OFF)


def tracer_provider(service: str) -> TracerProvider:
    """A tracer provider named after the hosted service set, with the exporters and the
    sampler the environment asks for (see the module docstring)."""
    choices = _exporter_choices()
    provider = TracerProvider(
        sampler=_sampler(choices),
        resource=Resource.create(
            {
                "service.name": os.environ.get("OTEL_SERVICE_NAME", service),
                "service.namespace": "ragline",
            }
        ),
    )
    provider.add_span_processor(TenantSpanProcessor())
    for choice in choices:
        match choice:
            case "otlp":
                from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
                    OTLPSpanExporter,
                )

                provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
            case "console":
                provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
            case "none":
                continue
            case other:
                raise ValueError(
                    f"OTEL_TRACES_EXPORTER={other!r} is not supported; use otlp, console or none."
                )
    return provider


def configure_tracing(service: str) -> TracerProvider:
    """Install :func:`tracer_provider` as the global tracer provider.

    Also instruments every ``httpx`` client of the process (service-to-service calls and the
    LLM client alike): each call gets a client span and a ``traceparent`` header. Called once by
    the ``ragline run`` command, never at import time.
    """
    provider = tracer_provider(service)
    trace.set_tracer_provider(provider)
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    instrumentor = HTTPXClientInstrumentor()
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument()
    return provider


def inject_context() -> dict[str, str]:
    """Headers carrying the current trace context (``traceparent``) for a message or request."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


def extract_context(headers: Mapping[str, str]) -> Context:
    """Trace context a producer put into ``headers``, to parent the consumer's span.

    Only the trace context is taken: baggage from a message header is producer-controlled (the
    public intake queue takes messages from tenants) and must not reach our spans or logs.
    """
    carrier = {key: value for key, value in headers.items() if key.lower() != "baggage"}
    return propagate.extract(carrier, context=otel_context.Context())


def current_trace_id() -> str | None:
    span_context = trace.get_current_span().get_span_context()
    return format(span_context.trace_id, "032x") if span_context.is_valid else None
