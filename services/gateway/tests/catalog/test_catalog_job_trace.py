"""A job keeps its upload's trace context, and a job published late is published in that trace.

Runs on SQLite and PostgreSQL (the suite's ``catalog`` fixture). Spans go to a local provider
with an in-memory exporter; the module tracers are swapped for its, so no other test sees a
recording tracer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind

from ragline_common.adapters.broker.memory import MemoryBroker
from ragline_common.messages import JobStatus, JobStatusChanged, encode_message
from ragline_common.observability.tracing import inject_context
from ragline_common.ports.broker import Delivery
from ragline_common.tenancy import TenantId
from ragline_common.topology import ROUTING_JOB_STATUS, QueueName
from ragline_gateway.adapters.catalog import SqlCatalog
from ragline_gateway.consumers.job_events import JobEventHandler
from ragline_gateway.domain.dispatch import JobDispatcher
from ragline_gateway.domain.uploads import submit_upload
from ragline_gateway.ports.catalog import DocumentDraft, TraceContext
from ragline_testing.harness import SpanRecorder

UPLOAD_TRACE = TraceContext(
    traceparent="00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    tracestate="vendor=opaque",
)


def _draft(name: str, external_id: str | None = None) -> DocumentDraft:
    return DocumentDraft(
        title=name,
        source_name=f"{name}.txt",
        content_type="text/plain",
        content_hash=f"hash-{name}",
        size_bytes=len(name),
        metadata={},
        external_id=external_id,
    )


async def test_a_job_keeps_the_trace_context_it_was_submitted_in(catalog: SqlCatalog) -> None:
    tenant = (await catalog.create_tenant("acme")).id
    traced = await catalog.submit_document(
        tenant, _draft("traced", "ext-1"), b"traced", trace=UPLOAD_TRACE
    )
    untraced = await catalog.submit_document(tenant, _draft("untraced"), b"untraced")

    assert traced.job.trace == UPLOAD_TRACE
    assert untraced.job.trace is None
    stored = await catalog.get_job(tenant, traced.job.id)
    assert stored is not None and stored.trace == UPLOAD_TRACE
    waiting = {w.job.id: w.job.trace for w in await catalog.next_unpublished(tenant, limit=10)}
    assert waiting == {traced.job.id: UPLOAD_TRACE, untraced.job.id: None}
    [listed] = await catalog.list_jobs(tenant, traced.document.id)
    assert listed.trace == UPLOAD_TRACE

    # A repeat upload of the same content is the same job, still in the first upload's trace.
    repeat = await catalog.submit_document(
        tenant,
        _draft("traced", "ext-1"),
        b"traced",
        trace=TraceContext("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
    )
    assert not repeat.created and repeat.job.trace == UPLOAD_TRACE


def _named(spans: tuple[ReadableSpan, ...], name: str, trace_id: int) -> ReadableSpan:
    [span] = [s for s in spans if s.name == name and s.context.trace_id == trace_id]
    return span


async def test_a_job_that_waited_for_the_window_is_published_in_its_uploads_trace(
    catalog: SqlCatalog, broker: MemoryBroker, recorder: SpanRecorder
) -> None:
    test_tracer = recorder.tracer
    dispatcher = JobDispatcher(catalog, broker, window=1)
    tenant = TenantId((await catalog.create_tenant("busy")).id)

    with test_tracer.start_as_current_span("upload first", kind=SpanKind.SERVER) as first_root:
        first = await submit_upload(catalog, dispatcher, tenant, _draft("first"), b"first")
    with test_tracer.start_as_current_span("upload second", kind=SpanKind.SERVER) as second_root:
        second = await submit_upload(catalog, dispatcher, tenant, _draft("second"), b"second")
    first_trace = first_root.get_span_context().trace_id
    second_trace = second_root.get_span_context().trace_id
    waiting = await catalog.get_job(tenant, second.job.id)
    assert waiting is not None and not waiting.published, "the window (1) was full"

    # The worker indexes the first document and reports it, in the first upload's trace.
    published: list[Delivery] = []

    async def collect(delivery: Delivery) -> None:
        published.append(delivery)

    await broker.consume(QueueName.INGESTION, collect, prefetch=10)
    await _until(lambda: len(published) == 1)
    with (
        trace.use_span(trace.NonRecordingSpan(first_root.get_span_context())),
        test_tracer.start_as_current_span("worker reports", kind=SpanKind.PRODUCER) as report,
    ):
        status_headers = inject_context()
    event = JobStatusChanged(
        tenant_id=tenant,
        job_id=first.job.id,
        document_id=first.document.id,
        version=1,
        status=JobStatus.INDEXED,
        chunk_count=1,
    )
    # No current span here: the handler runs as a consumer loop would.
    await JobEventHandler(catalog, broker, dispatcher)(
        Delivery(body=encode_message(event), routing_key=ROUTING_JOB_STATUS, headers=status_headers)
    )

    await _until(lambda: len(published) == 2)
    late = published[1]
    assert _trace_id(late.headers["traceparent"]) == second_trace
    spans = recorder.exporter.get_finished_spans()
    consumer = _named(spans, f"{QueueName.JOB_EVENTS.value} process", first_trace)
    assert consumer.kind is SpanKind.CONSUMER
    assert (
        consumer.parent is not None and consumer.parent.span_id == report.get_span_context().span_id
    )
    dispatch = _named(spans, "gateway.dispatch", second_trace)
    assert dispatch.parent is not None
    assert dispatch.parent.span_id == second_root.get_span_context().span_id
    assert [link.context.span_id for link in dispatch.links] == [consumer.context.span_id]
    publish = _named(spans, "ragline.commands publish", second_trace)
    assert publish.kind is SpanKind.PRODUCER
    assert publish.parent is not None and publish.parent.span_id == dispatch.context.span_id
    assert _span_id(late.headers["traceparent"]) == publish.context.span_id
    # The first job went out inside its own request: same trace, and no link to itself.
    first_dispatch = _named(spans, "gateway.dispatch", first_trace)
    assert first_dispatch.parent is not None
    assert first_dispatch.parent.span_id == first_root.get_span_context().span_id
    assert not first_dispatch.links


def _trace_id(traceparent: str) -> int:
    return int(traceparent.split("-")[1], 16)


def _span_id(traceparent: str) -> int:
    return int(traceparent.split("-")[2], 16)


async def _until(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not condition():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.01)
