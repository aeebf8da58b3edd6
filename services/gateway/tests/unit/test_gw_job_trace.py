"""Traces of the gateway's broker hops: sweeper publishes, queue drops, dead-letter events.

A real SQLite catalog and the in-process broker; spans go to a local provider with an in-memory
exporter (the module tracers are swapped for its, so no other test sees a recording tracer).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime

from gw_harness import ingest_key_in_catalog
from opentelemetry import trace
from opentelemetry.trace import SpanKind
from opentelemetry.trace.span import TraceState

from ragline_common.adapters.broker.memory import MemoryBroker
from ragline_common.messages import JobStatus, encode_message
from ragline_common.observability.tracing import inject_context
from ragline_common.ports.broker import DeadLetter, Delivery
from ragline_common.tenancy import TenantId
from ragline_common.topology import ROUTING_INGEST, QueueName
from ragline_gateway.adapters.catalog import SqlCatalog
from ragline_gateway.consumers.dead_letter_events import DeadLetterEventHandler
from ragline_gateway.consumers.intake import IntakeHandler
from ragline_gateway.domain import job_trace
from ragline_gateway.domain.dispatch import JobDispatcher, ingest_message
from ragline_gateway.domain.intake_message import HEADER_API_KEY, SCHEMA_V1
from ragline_gateway.domain.uploads import submit_upload
from ragline_gateway.ports.catalog import DocumentDraft
from ragline_testing.harness import SpanRecorder

PEPPER = b"pepper-for-job-trace-tests"


def _draft(name: str) -> DocumentDraft:
    return DocumentDraft(
        title=name,
        source_name=f"{name}.txt",
        content_type="text/plain",
        content_hash=f"hash-{name}",
        size_bytes=len(name),
        metadata={},
    )


def _trace_id(traceparent: str) -> int:
    return int(traceparent.split("-")[1], 16)


async def _published(broker: MemoryBroker, count: int) -> list[Delivery]:
    received: list[Delivery] = []

    async def collect(delivery: Delivery) -> None:
        received.append(delivery)

    await broker.consume(QueueName.INGESTION, collect, prefetch=10)
    await _until(lambda: len(received) >= count)
    return received


async def _until(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not condition():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def test_the_sweeper_publishes_a_waiting_job_in_its_uploads_trace(
    catalog: SqlCatalog, broker: MemoryBroker, recorder: SpanRecorder
) -> None:
    tenant = TenantId((await catalog.create_tenant("t")).id)
    full = JobDispatcher(catalog, broker, window=0)  # nothing may go out at upload time
    with recorder.tracer.start_as_current_span("upload", kind=SpanKind.SERVER) as upload:
        await submit_upload(catalog, full, tenant, _draft("late"), b"late")
    assert await broker.queue_depth(QueueName.INGESTION) == 0

    # The sweeper runs outside any request or message.
    assert trace.get_current_span().get_span_context().is_valid is False
    assert await JobDispatcher(catalog, broker, window=1).dispatch_all() == 1

    [delivery] = await _published(broker, 1)
    upload_trace = upload.get_span_context().trace_id
    assert _trace_id(delivery.headers["traceparent"]) == upload_trace
    dispatch = recorder.named("gateway.dispatch")
    assert dispatch.parent is not None
    assert dispatch.parent.span_id == upload.get_span_context().span_id
    assert not dispatch.links, "nothing in particular triggered a sweep"
    assert dispatch.attributes is not None
    assert dispatch.attributes["tenant.id"] == tenant
    assert float(str(dispatch.attributes["ragline.job.waited_s"])) >= 0.0


async def test_a_job_stored_without_a_trace_is_published_in_the_current_one(
    catalog: SqlCatalog, broker: MemoryBroker, recorder: SpanRecorder
) -> None:
    """Jobs from before the catalog kept trace context behave as before."""
    tenant = TenantId((await catalog.create_tenant("t")).id)
    await catalog.submit_document(tenant, _draft("old"), b"old")
    with recorder.tracer.start_as_current_span("trigger") as trigger:
        assert await JobDispatcher(catalog, broker, window=1).dispatch(tenant) == 1

    [delivery] = await _published(broker, 1)
    assert _trace_id(delivery.headers["traceparent"]) == trigger.get_span_context().trace_id
    dispatch = recorder.named("gateway.dispatch")
    assert dispatch.parent is not None
    assert dispatch.parent.span_id == trigger.get_span_context().span_id
    assert not dispatch.links


async def test_a_queue_dropped_upload_continues_the_producers_trace(
    catalog: SqlCatalog, broker: MemoryBroker, recorder: SpanRecorder
) -> None:
    tenant, key = await ingest_key_in_catalog(catalog, PEPPER, tenant_name="t")
    dispatcher = JobDispatcher(catalog, broker, window=1)
    # The window is taken, so the dropped document waits and goes out from a later dispatch.
    await submit_upload(catalog, dispatcher, tenant, _draft("first"), b"first")
    handler = IntakeHandler(
        catalog=catalog,
        broker=broker,
        dispatcher=dispatcher,
        key_pepper=PEPPER,
        admin_token="operator-token-for-job-trace-tests",
        max_upload_bytes=4096,
    )
    with recorder.tracer.start_as_current_span("producer send", kind=SpanKind.PRODUCER) as sent:
        producer_headers = inject_context()
    body = {"schema": SCHEMA_V1, "title": "Dropped", "text": "Queued through the drop."}
    await handler(
        Delivery(
            body=json.dumps(body).encode(),
            routing_key="document.intake.v1",
            headers={**producer_headers, HEADER_API_KEY: key},
        )
    )
    producer_trace = sent.get_span_context().trace_id
    intake = recorder.named(f"{QueueName.INTAKE.value} process")
    assert intake.kind is SpanKind.CONSUMER
    assert intake.parent is not None and intake.parent.span_id == sent.get_span_context().span_id

    [waiting] = await catalog.next_unpublished(tenant, limit=10)
    dropped = waiting.job
    assert dropped.trace is not None
    assert _trace_id(dropped.trace.traceparent) == producer_trace
    [first] = await catalog.unfinished_jobs(published=True, limit=10)
    await catalog.apply_job_status(tenant, first.id, JobStatus.INDEXED, chunk_count=1, reason=None)
    assert await dispatcher.dispatch(tenant) == 1
    deliveries = await _published(broker, 2)
    assert _trace_id(deliveries[1].headers["traceparent"]) == producer_trace


async def test_a_dead_letter_event_is_handled_in_the_uploads_trace(
    catalog: SqlCatalog, broker: MemoryBroker, recorder: SpanRecorder
) -> None:
    tenant = TenantId((await catalog.create_tenant("t")).id)
    dispatcher = JobDispatcher(catalog, broker, window=1)
    with recorder.tracer.start_as_current_span("upload", kind=SpanKind.SERVER) as upload:
        submission = await submit_upload(catalog, dispatcher, tenant, _draft("bad"), b"bad")
    [parked] = await _published(broker, 1)  # what the broker would copy to the dead letters

    await DeadLetterEventHandler(catalog, dispatcher)(
        Delivery(
            body=encode_message(ingest_message(submission.document, submission.job, b"bad")),
            routing_key=ROUTING_INGEST,
            headers=parked.headers,
            # What the broker recorded when it parked the message (only that is believed).
            dead_letter=DeadLetter(
                id="evt_parked",
                queue=QueueName.INGESTION,
                routing_key=ROUTING_INGEST,
                tenant_id=tenant,
                reason="worker crashed",
                dead_lettered_at=datetime.now(UTC),
                body=parked.body,
            ),
        )
    )

    job = await catalog.get_job(tenant, submission.job.id)
    assert job is not None and job.status is JobStatus.FAILED
    handled = recorder.named(f"{QueueName.DEAD_LETTER_EVENTS.value} process")
    assert handled.kind is SpanKind.CONSUMER
    assert handled.context.trace_id == upload.get_span_context().trace_id
    publish = recorder.named("ragline.commands publish")
    assert handled.parent is not None and handled.parent.span_id == publish.context.span_id
    assert handled.attributes is not None and handled.attributes["tenant.id"] == tenant


def test_an_oversized_tracestate_is_not_stored_but_the_trace_is(recorder: SpanRecorder) -> None:
    huge = TraceState([(f"k{i}", "v" * 30) for i in range(20)])
    span_context = trace.SpanContext(
        trace_id=0x4BF92F3577B34DA6A3CE929D0E0E4736,
        span_id=0x00F067AA0BA902B7,
        is_remote=True,
        trace_flags=trace.TraceFlags(1),
        trace_state=huge,
    )
    with trace.use_span(trace.NonRecordingSpan(span_context)):
        stored = job_trace.current_trace()
    assert stored is not None
    assert stored.traceparent == "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    assert stored.tracestate is None
    with trace.use_span(
        trace.NonRecordingSpan(
            trace.SpanContext(
                trace_id=span_context.trace_id,
                span_id=span_context.span_id,
                is_remote=True,
                trace_flags=trace.TraceFlags(1),
                trace_state=TraceState([("vendor", "opaque")]),
            )
        )
    ):
        kept = job_trace.current_trace()
    assert kept is not None and kept.tracestate == "vendor=opaque"
    assert job_trace.current_trace() is None, "outside any trace there is nothing to keep"
