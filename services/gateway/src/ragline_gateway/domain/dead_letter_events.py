"""Failing the jobs whose messages were dead-lettered.

The worker reports ``failed`` itself for documents it can judge; this covers the rest: messages
RabbitMQ parked after too many deliveries (a worker crashing on them), or that a handler refused
before it could report. Without it such jobs would stay ``processing`` for ever and hold a slot
of their tenant's dispatch window.

This handler must not fail permanently (its queue cannot dead-letter; see ``PARKING_QUEUES``):
anything it cannot use is logged and dropped; only a catalog outage is retried.
"""

from __future__ import annotations

import structlog
from pydantic import ValidationError

from ragline_common.errors import TransientProcessingError, UpstreamUnavailable
from ragline_common.messages import DocumentIngestRequested, JobStatus, parse_message
from ragline_common.observability.messaging import consumer_span
from ragline_common.ports.broker import Delivery
from ragline_common.ports.catalog import Catalog
from ragline_common.topology import QueueName
from ragline_gateway.domain.dispatch import JobDispatcher

_log = structlog.get_logger(__name__)
_REASON_HEADER = "x-ragline-reason"
_FALLBACK_REASON = "the job could not be processed and was set aside for an operator"


class DeadLetterEventHandler:
    def __init__(self, catalog: Catalog, dispatcher: JobDispatcher) -> None:
        self._catalog = catalog
        self._dispatcher = dispatcher

    async def __call__(self, delivery: Delivery) -> None:
        try:
            message = parse_message(delivery.body)
        except (ValidationError, ValueError):
            return  # not one of ours (an intake message, say): nothing to fail
        if not isinstance(message, DocumentIngestRequested):
            return
        # A parked message keeps its upload's traceparent: failing its job joins that trace.
        with (
            consumer_span(
                QueueName.DEAD_LETTER_EVENTS,
                delivery.headers,
                message_id=message.event_id,
                message_type=message.type,
                tenant_id=message.tenant_id,
            ),
            structlog.contextvars.bound_contextvars(tenant_id=message.tenant_id),
        ):
            await self._fail(message, delivery.headers.get(_REASON_HEADER) or _FALLBACK_REASON)

    async def _fail(self, message: DocumentIngestRequested, reason: str) -> None:
        try:
            changed = await self._catalog.apply_job_status(
                message.tenant_id,
                message.job_id,
                JobStatus.FAILED,
                chunk_count=None,
                reason=f"{reason} (dead-lettered; an operator can replay it)",
            )
            if changed:
                await self._dispatcher.dispatch(message.tenant_id)
        except UpstreamUnavailable as exc:
            raise TransientProcessingError(exc.detail) from exc
        _log.info("dead_letter_job_failed", job_id=message.job_id, changed=changed)
