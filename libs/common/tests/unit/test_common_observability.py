"""Tracing and metrics helpers: trace context across the broker, tenant tagging, request spans
and metrics.

Spans go to a local provider with an in-memory exporter (module tracers are swapped, as in the
ingestion tests), never to the process-wide provider, so other tests see no recording tracer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest
import structlog
from fastapi import FastAPI, Request
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from ragline_common.adapters.broker.memory import MemoryBroker
from ragline_common.http.middleware import RequestObservabilityMiddleware
from ragline_common.http.telemetry import request_telemetry
from ragline_common.messages import DocumentDeleteRequested
from ragline_common.observability import messaging, metrics, tracing
from ragline_common.observability.tenancy import bind_tenant
from ragline_common.ports.broker import Delivery
from ragline_common.tenancy import TenantId
from ragline_common.topology import ROUTING_DELETE, QueueName

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
TRACEPARENT = f"00-{TRACE_ID}-b7ad6b7169203331-01"


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def provider(exporter: InMemorySpanExporter) -> TracerProvider:
    provider = TracerProvider()
    provider.add_span_processor(tracing.TenantSpanProcessor())
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


@pytest.fixture(autouse=True)
def _clean_log_context() -> Iterator[None]:
    structlog.contextvars.clear_contextvars()
    yield
    structlog.contextvars.clear_contextvars()


def sample(name: str, labels: dict[str, str]) -> float:
    value = metrics.REGISTRY.get_sample_value(name, labels)
    return value or 0.0


def by_name(spans: tuple[ReadableSpan, ...]) -> dict[str, ReadableSpan]:
    return {span.name: span for span in spans}


async def test_a_published_message_carries_the_publish_span_to_the_consumer(
    provider: TracerProvider, exporter: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(messaging, "_tracer", provider.get_tracer("test"))
    tracer = provider.get_tracer("test")
    broker = MemoryBroker(close_timeout_s=1)
    await broker.start()
    received: list[Delivery] = []

    async def handler(delivery: Delivery) -> None:
        received.append(delivery)

    waited_before = sample("ragline_queue_wait_seconds_count", {"queue": "ragline.ingestion"})
    try:
        await broker.consume(QueueName.INGESTION, handler, prefetch=1)
        with tracer.start_as_current_span("POST /v1/documents") as request_span:
            await broker.publish(
                DocumentDeleteRequested(tenant_id=TenantId("t-1"), document_id="doc_1"),
                routing_key=ROUTING_DELETE,
            )
        for _ in range(100):
            if received:
                break
            await asyncio.sleep(0.01)
    finally:
        await broker.close()

    publish = by_name(exporter.get_finished_spans())["ragline.commands publish"]
    assert publish.kind is SpanKind.PRODUCER
    assert publish.parent is not None
    assert publish.parent.span_id == request_span.get_span_context().span_id
    assert publish.attributes is not None
    assert publish.attributes["messaging.destination.name"] == "ragline.commands"
    assert publish.attributes["tenant.id"] == "t-1"
    [delivery] = received
    _, trace_id, parent_id, _ = delivery.headers["traceparent"].split("-")
    assert trace_id == format(publish.context.trace_id, "032x")
    assert parent_id == format(publish.context.span_id, "016x")
    consumer_parent = tracing.extract_context(delivery.headers)
    with tracer.start_as_current_span("ragline.ingestion process", context=consumer_parent):
        pass
    process = by_name(exporter.get_finished_spans())["ragline.ingestion process"]
    assert process.parent is not None and process.parent.span_id == publish.context.span_id
    waited_after = sample("ragline_queue_wait_seconds_count", {"queue": "ragline.ingestion"})
    assert waited_after == waited_before + 1


async def test_a_caller_supplied_traceparent_parents_the_publish_span(
    provider: TracerProvider, exporter: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(messaging, "_tracer", provider.get_tracer("test"))
    broker = MemoryBroker(close_timeout_s=1)
    await broker.start()
    try:
        await broker.publish(
            DocumentDeleteRequested(tenant_id=TenantId("t-1"), document_id="doc_1"),
            routing_key=ROUTING_DELETE,
            headers={"traceparent": TRACEPARENT},
        )
    finally:
        await broker.close()
    [publish] = exporter.get_finished_spans()
    assert format(publish.context.trace_id, "032x") == TRACE_ID
    assert publish.parent is not None and format(publish.parent.span_id, "016x") == (
        "b7ad6b7169203331"
    )


def test_message_baggage_is_not_trusted() -> None:
    context = tracing.extract_context({"traceparent": TRACEPARENT, "baggage": "tenant.id=evil"})
    from opentelemetry import baggage

    assert baggage.get_all(context) == {}
    from opentelemetry import trace

    assert format(trace.get_current_span(context).get_span_context().trace_id, "032x") == (TRACE_ID)


def test_spans_started_after_the_tenant_is_bound_carry_it(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("request"):
        with tracer.start_as_current_span("before"):
            pass
        bind_tenant("t-9")
        with tracer.start_as_current_span("after"):
            pass
        assert structlog.contextvars.get_contextvars()["tenant_id"] == "t-9"
    spans = by_name(exporter.get_finished_spans())
    assert (spans["request"].attributes or {}).get("tenant.id") == "t-9"
    assert (spans["after"].attributes or {}).get("tenant.id") == "t-9"
    assert "tenant.id" not in (spans["before"].attributes or {})


async def test_request_spans_join_the_callers_trace_and_record_the_tenant(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    app = FastAPI(telemetry=request_telemetry(provider))
    tracer = provider.get_tracer("test")

    @app.post("/things/{thing_id}")
    async def create(thing_id: str, request: Request) -> dict[str, str]:
        request.state.tenant_id = "t-42"  # as authentication does
        with tracer.start_as_current_span("inner"):
            pass
        return {"id": thing_id}

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    app.add_middleware(RequestObservabilityMiddleware, service="unit")
    labels = {
        "service": "unit",
        "method": "POST",
        "route": "/things/{thing_id}",
        "status": "200",
        "tenant": "t-42",
    }
    before = sample("ragline_http_requests_total", labels)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://unit") as client:
        response = await client.post("/things/abc", headers={"traceparent": TRACEPARENT})
        probe = await client.get("/healthz")
    assert response.status_code == 200
    assert probe.status_code == 200

    finished = exporter.get_finished_spans()
    assert [span.kind for span in finished].count(SpanKind.SERVER) == 1  # probes: no span
    spans = by_name(finished)
    server = spans["POST /things/{thing_id}"]
    assert server.kind is SpanKind.SERVER
    assert format(server.context.trace_id, "032x") == TRACE_ID
    assert server.parent is not None and format(server.parent.span_id, "016x") == (
        "b7ad6b7169203331"
    )
    assert (server.attributes or {}).get("tenant.id") == "t-42"
    assert (server.attributes or {}).get("http.route") == "/things/{thing_id}"
    assert (server.attributes or {}).get("http.response.status_code") == 200
    inner = spans["inner"]
    assert inner.parent is not None and inner.parent.span_id == server.context.span_id
    assert (inner.attributes or {}).get("tenant.id") == "t-42"
    assert sample("ragline_http_requests_total", labels) == before + 1
    assert "tenant_id" not in structlog.contextvars.get_contextvars()


def test_tenant_labels_are_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(metrics, "_seen_tenants", set())
    monkeypatch.setattr(metrics, "MAX_TENANT_LABELS", 2)
    assert [metrics.tenant_label(t) for t in ("a", "b", "c", "a", None)] == [
        "a",
        "b",
        "other",
        "a",
        "none",
    ]


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, []),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, ["otlp"]),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"}, ["otlp"]),
        (
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_EXPORTER": "none"},
            ["none"],
        ),
        ({"OTEL_TRACES_EXPORTER": "otlp, console"}, ["otlp", "console"]),
    ],
)
def test_exporters_follow_the_standard_variables(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: list[str]
) -> None:
    for name in (
        "OTEL_TRACES_EXPORTER",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert tracing._exporter_choices() == expected


@pytest.mark.parametrize(
    ("env", "recording"),
    [
        ({}, False),
        ({"OTEL_TRACES_EXPORTER": "none"}, False),
        ({"OTEL_TRACES_EXPORTER": "console"}, True),
        ({"OTEL_TRACES_SAMPLER": "always_on"}, True),
    ],
)
def test_spans_are_recorded_only_when_something_can_export_them(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], recording: bool
) -> None:
    for name in (
        "OTEL_TRACES_EXPORTER",
        "OTEL_TRACES_SAMPLER",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    provider = tracing.tracer_provider("test")
    try:
        with provider.get_tracer("test").start_as_current_span("request") as span:
            assert span.is_recording() is recording
            # Unrecorded, the request still has a trace id for its logs and problem documents.
            assert tracing.current_trace_id() == format(span.get_span_context().trace_id, "032x")
            assert span.get_span_context().is_valid
    finally:
        provider.shutdown()


def test_a_callers_sampled_trace_is_recorded_even_without_an_exporter(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("OTEL_TRACES_EXPORTER", "OTEL_TRACES_SAMPLER", "OTEL_EXPORTER_OTLP_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    provider = tracing.tracer_provider("test")
    caller = tracing.extract_context(
        {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
    )
    try:
        with provider.get_tracer("test").start_as_current_span("request", context=caller) as span:
            assert span.is_recording()
            assert tracing.current_trace_id() == "0af7651916cd43dd8448eb211c80319c"
    finally:
        provider.shutdown()
