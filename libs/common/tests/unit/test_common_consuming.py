"""The one way to consume a message: decoding, the consumer span, the log context, routing.

Spans go to the test's own in-memory provider (``recording_spans`` swaps the messaging
module's tracer); the log context is read from structlog's contextvars inside the handler.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest
import structlog
from opentelemetry.trace import SpanKind
from pydantic import ValidationError

from ragline_common.consuming import (
    Decoded,
    MessageConsumer,
    MessageIdentity,
    route,
    undecoded,
)
from ragline_common.errors import PermanentProcessingError
from ragline_common.messages import (
    DocumentDeleteRequested,
    DocumentIngestRequested,
    Envelope,
    JobStatus,
    JobStatusChanged,
    TenantDeleteRequested,
    encode_message,
)
from ragline_common.observability import messaging
from ragline_common.ports.broker import Delivery
from ragline_common.tenancy import TenantId
from ragline_common.topology import QueueName
from ragline_testing.harness import SpanRecorder, recording_spans

TENANT = TenantId("t_consuming")
TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
PARENT_SPAN_ID = "b7ad6b7169203331"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_SPAN_ID}-01"
PROCESS = f"{QueueName.INGESTION.value} process"


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Iterator[SpanRecorder]:
    with recording_spans(monkeypatch, messaging) as recording:
        yield recording


@pytest.fixture(autouse=True)
def _clean_log_context() -> Iterator[None]:
    structlog.contextvars.clear_contextvars()
    yield
    structlog.contextvars.clear_contextvars()


class Handled:
    """Records what each handler got, and the log context it ran in."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any, dict[str, Any]]] = []

    async def ingest(self, message: DocumentIngestRequested) -> None:
        self.calls.append(("ingest", message, structlog.contextvars.get_contextvars()))

    async def delete(self, message: DocumentDeleteRequested) -> None:
        self.calls.append(("delete", message, structlog.contextvars.get_contextvars()))


def ingest() -> DocumentIngestRequested:
    return DocumentIngestRequested(
        tenant_id=TENANT,
        document_id="doc_1",
        job_id="job_1",
        version=2,
        title="Ducks",
        source_name="ducks.md",
        content_type="text/markdown",
        content=b"# Ducks",
        content_hash="0" * 64,
    )


def delivery(
    message: Envelope | bytes, *, attempt: int = 0, headers: Mapping[str, str] | None = None
) -> Delivery:
    body = message if isinstance(message, bytes) else encode_message(message)
    return Delivery(body=body, routing_key="x", headers=dict(headers or {}), attempt=attempt)


def consumer(handled: Handled) -> MessageConsumer:
    return MessageConsumer(
        QueueName.INGESTION,
        [
            route(DocumentIngestRequested, handled.ingest),
            route(DocumentDeleteRequested, handled.delete),
        ],
    )


async def test_each_type_goes_to_its_handler_typed(recorder: SpanRecorder) -> None:
    handled = Handled()
    request = ingest()
    delete = DocumentDeleteRequested(tenant_id=TENANT, document_id="doc_1")

    await consumer(handled)(delivery(request))
    await consumer(handled)(delivery(delete))

    assert [(name, message) for name, message, _ in handled.calls] == [
        ("ingest", request),
        ("delete", delete),
    ]


async def test_the_span_continues_the_publishers_trace_and_names_the_message(
    recorder: SpanRecorder,
) -> None:
    request = ingest()
    await consumer(Handled())(delivery(request, headers={"traceparent": TRACEPARENT}))

    span = recorder.named(PROCESS)
    assert span.kind is SpanKind.CONSUMER
    assert format(span.context.trace_id, "032x") == TRACE_ID
    assert span.parent is not None and format(span.parent.span_id, "016x") == PARENT_SPAN_ID
    assert dict(span.attributes or {}) == {
        "messaging.operation.type": "process",
        "messaging.destination.name": QueueName.INGESTION.value,
        "messaging.message.id": request.event_id,
        "ragline.message.type": "document.ingest.v1",
        "tenant.id": TENANT,
    }


async def test_the_handler_logs_in_the_messages_context_and_only_there(
    recorder: SpanRecorder,
) -> None:
    handled = Handled()
    request = ingest()
    await consumer(handled)(delivery(request, attempt=3))

    [(_, _, context)] = handled.calls
    assert context == {
        "tenant_id": TENANT,
        "event_id": request.event_id,
        "attempt": 3,
        "document_id": "doc_1",
        "job_id": "job_1",
        "version": 2,
    }
    assert structlog.contextvars.get_contextvars() == {}


async def test_an_unexpected_type_is_refused_for_good_inside_its_span(
    recorder: SpanRecorder,
) -> None:
    handled = Handled()
    status = JobStatusChanged(
        tenant_id=TENANT, job_id="j", document_id="d", version=1, status=JobStatus.INDEXED
    )
    with pytest.raises(PermanentProcessingError) as refused:
        await consumer(handled)(delivery(status))

    assert refused.value.code == "unexpected_message"
    assert refused.value.detail == "job.status.v1 messages do not belong on the ingestion queue"
    assert not handled.calls
    assert recorder.named(PROCESS).attributes is not None


async def test_an_undecodable_body_runs_nothing_and_opens_no_span(recorder: SpanRecorder) -> None:
    handled = Handled()
    with pytest.raises(ValidationError):
        await consumer(handled)(delivery(b'{"type": "document.ingest.v1"}'))

    assert not handled.calls
    assert not recorder.exporter.get_finished_spans()


async def test_a_decoder_can_pass_a_delivery_by_and_can_vouch_for_less(
    recorder: SpanRecorder,
) -> None:
    seen: list[str] = []

    async def tenant_deleted(message: TenantDeleteRequested) -> None:
        seen.append(message.tenant_id)

    def only_tenant_deletes(delivery: Delivery) -> Decoded[TenantDeleteRequested] | None:
        message = TenantDeleteRequested.model_validate_json(delivery.body)
        if message.tenant_id != TENANT:
            return None  # not for this consumer: acknowledged, nothing runs
        return Decoded(message, MessageIdentity(message_type=message.type))

    tenant_consumer = MessageConsumer(
        QueueName.DEAD_LETTER_EVENTS,
        [route(TenantDeleteRequested, tenant_deleted)],
        decode=only_tenant_deletes,
    )
    await tenant_consumer(delivery(TenantDeleteRequested(tenant_id=TenantId("t_other"))))
    assert not seen and not recorder.exporter.get_finished_spans()

    await tenant_consumer(delivery(TenantDeleteRequested(tenant_id=TENANT)))
    assert seen == [TENANT]
    span = recorder.named(f"{QueueName.DEAD_LETTER_EVENTS.value} process")
    # Only what the decoder vouched for is on the span: no id, no tenant.
    assert dict(span.attributes or {}) == {
        "messaging.operation.type": "process",
        "messaging.destination.name": QueueName.DEAD_LETTER_EVENTS.value,
        "ragline.message.type": "tenant.delete.v1",
    }


async def test_an_undecoded_delivery_reaches_its_handler_as_it_came(
    recorder: SpanRecorder,
) -> None:
    seen: list[tuple[Delivery, dict[str, Any]]] = []

    async def raw(delivery: Delivery) -> None:
        seen.append((delivery, structlog.contextvars.get_contextvars()))

    given = delivery(b"not json at all", attempt=1, headers={"traceparent": TRACEPARENT})
    await MessageConsumer(QueueName.INTAKE, [route(Delivery, raw)], decode=undecoded)(given)

    assert seen == [(given, {"attempt": 1})]
    span = recorder.named(f"{QueueName.INTAKE.value} process")
    assert format(span.context.trace_id, "032x") == TRACE_ID
    assert "tenant.id" not in (span.attributes or {})


def test_a_type_may_be_routed_once() -> None:
    handled = Handled()
    with pytest.raises(ValueError, match="routed twice"):
        MessageConsumer(
            QueueName.INGESTION,
            [route(DocumentIngestRequested, handled.ingest)] * 2,
        )
