"""The handler of the ingestion queue: decode, join the producer's trace, dispatch by type.

Settlement is the broker's job and follows from what this raises (see
:data:`ragline_common.ports.broker.Handler`): an undecodable or unexpected message is
dead-lettered, never retried.
"""

from __future__ import annotations

import structlog
from opentelemetry import trace
from opentelemetry.trace import SpanKind

from ragline_common.errors import PermanentProcessingError
from ragline_common.messages import (
    DocumentDeleteRequested,
    DocumentIngestRequested,
    JobStatusChanged,
    TenantDeleteRequested,
    parse_message,
)
from ragline_common.observability.tracing import extract_context
from ragline_common.ports.broker import Delivery
from ragline_common.topology import QueueName
from ragline_ingestion.domain.pipeline import IngestionPipeline

_tracer = trace.get_tracer("ragline.ingestion")


class IngestionQueueConsumer:
    def __init__(self, pipeline: IngestionPipeline) -> None:
        self._pipeline = pipeline

    async def handle(self, delivery: Delivery) -> None:
        message = parse_message(delivery.body)
        log_context: dict[str, str | int] = {
            "tenant_id": message.tenant_id,
            "event_id": message.event_id,
            "attempt": delivery.attempt,
        }
        if not isinstance(message, TenantDeleteRequested):
            log_context["document_id"] = message.document_id
        if isinstance(message, DocumentIngestRequested):
            log_context |= {"job_id": message.job_id, "version": message.version}
        with (
            _tracer.start_as_current_span(
                f"{QueueName.INGESTION.value} process",
                context=extract_context(delivery.headers),
                kind=SpanKind.CONSUMER,
                attributes={
                    "messaging.operation.type": "process",
                    "messaging.destination.name": QueueName.INGESTION.value,
                    "messaging.message.id": message.event_id,
                    "ragline.message.type": message.type,
                    "tenant.id": message.tenant_id,
                },
            ),
            structlog.contextvars.bound_contextvars(**log_context),
        ):
            match message:
                case DocumentIngestRequested():
                    await self._pipeline.ingest(message)
                case DocumentDeleteRequested():
                    await self._pipeline.delete(message)
                case TenantDeleteRequested():
                    await self._pipeline.delete_tenant(message)
                case JobStatusChanged():
                    raise PermanentProcessingError(
                        f"{message.type} messages do not belong on the ingestion queue",
                        code="unexpected_message",
                    )
