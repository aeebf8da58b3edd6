"""Failing the jobs whose messages were dead-lettered.

The worker reports ``failed`` itself for documents it can judge; this covers the rest: messages
RabbitMQ parked after too many deliveries (a worker crashing on them), or that a handler refused
before it could report. Without it such jobs would stay ``processing`` for ever and hold a slot
of their tenant's dispatch window.

Only a letter's record is believed, never its body: every dead letter passes through here,
including intake messages whose bodies an outside producer wrote (one can be shaped like any
tenant's ingest command). A job is failed only when the broker's record says the letter was
parked from the ingestion queue, where only the gateway publishes, for the tenant the command
names; the catalog is then asked for that job of that tenant only.

This handler must not fail permanently (its queue cannot dead-letter; see ``PARKING_QUEUES``):
anything it cannot use is logged and dropped; only a catalog outage is retried.
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog
from pydantic import ValidationError

from ragline_common.consuming import Decoded, MessageConsumer, envelope_identity, route
from ragline_common.errors import TransientProcessingError, UpstreamUnavailable
from ragline_common.messages import DocumentIngestRequested, JobStatus, parse_message
from ragline_common.ports.broker import DeadLetter, Delivery
from ragline_common.tenancy import TenantId
from ragline_common.topology import QueueName
from ragline_gateway.domain.dispatch import JobDispatcher
from ragline_gateway.ports.catalog import JobStatusLedger

_log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class ParkedIngestion:
    """An ingest command parked by the broker, for the tenant the broker's record vouches for."""

    tenant_id: TenantId
    job_id: str
    reason: str


class DeadLetterEventHandler:
    def __init__(self, catalog: JobStatusLedger, dispatcher: JobDispatcher) -> None:
        self._catalog = catalog
        self._dispatcher = dispatcher
        # A parked message keeps its upload's traceparent: failing its job joins that trace.
        self._consume = MessageConsumer(
            QueueName.DEAD_LETTER_EVENTS,
            [route(ParkedIngestion, self._fail)],
            decode=believed_ingestion,
        )

    async def __call__(self, delivery: Delivery) -> None:
        await self._consume(delivery)

    async def _fail(self, parked: ParkedIngestion) -> None:
        try:
            changed = await self._catalog.apply_job_status(
                parked.tenant_id,
                parked.job_id,
                JobStatus.FAILED,
                chunk_count=None,
                reason=f"{parked.reason} (dead-lettered; an operator can replay it)",
            )
            if changed:
                await self._dispatcher.dispatch(parked.tenant_id)
        except UpstreamUnavailable as exc:
            raise TransientProcessingError(exc.detail) from exc
        _log.info("dead_letter_job_failed", job_id=parked.job_id, changed=changed)


def believed_ingestion(delivery: Delivery) -> Decoded[ParkedIngestion] | None:
    """The parked ingest command whose job may be failed, or None for any other letter.

    Letters that are not ours (an intake message, say), or not ingest commands, have no job to
    fail; one whose record does not vouch for the tenant its command names is not believed.
    The span and the log context are given the command's fields only once it is believed.
    """
    try:
        message = parse_message(delivery.body)
    except (ValidationError, ValueError):
        return None
    if not isinstance(message, DocumentIngestRequested):
        return None
    letter = delivery.dead_letter
    tenant_id = _vouched_tenant(letter, message)
    if letter is None or tenant_id is None:
        _log.warning("dead_letter_not_believed", queue=letter.queue.value if letter else None)
        return None
    parked = ParkedIngestion(tenant_id=tenant_id, job_id=message.job_id, reason=letter.reason)
    return Decoded(parked, envelope_identity(message))


def _vouched_tenant(letter: DeadLetter | None, command: DocumentIngestRequested) -> TenantId | None:
    """The tenant whose job ``command`` may fail: the record's, if it agrees with the command."""
    if letter is None or letter.queue is not QueueName.INGESTION or letter.tenant_id is None:
        return None
    return letter.tenant_id if letter.tenant_id == command.tenant_id else None
