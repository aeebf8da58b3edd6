"""Reindex progress from the job events queue: a task's status counts towards its reindex.

The worker reports a reindex task (ADR 0018) as a ``job.status.v1`` event with ``index_model``
set. Such an event is not about the document's own job, whose status must not move, so it is
taken off the queue's ordinary path here, before the job event handler, and counted instead
(:meth:`IndexModels.record_progress`, which may switch reads). A finished task frees a slot in
its tenant's dispatch window, as a finished job does. Every other event goes on to the job
event handler's :meth:`~JobEventHandler.apply`, decoded once: the queue carries nothing else,
and decoding each body twice (a peek, then the handler's own decode) was a share of the
gateway's CPU per document.

A task written after its document was deleted, its tenant erased or a newer version indexed
left chunks in the new index that no delete will reach (those went out before the task wrote):
its ``indexed`` event asks for them to be pruned from that index, as the job event handler does
for a late upload.

A reindex task the broker parked (a worker crashing on it) is a dead letter like any ingest
command; the dead-letter handler would look for a job by the task's id and find none, leaving
the task in flight for ever (holding a slot of its tenant's window and the switch). So parked
reindex tasks are taken off that path too and counted as failed, under the same rule of trust:
only a letter whose broker record vouches for its tenant (``believed_ingestion``).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

import structlog

from ragline_common.consuming import MessageConsumer, route
from ragline_common.errors import TransientProcessingError, UpstreamUnavailable
from ragline_common.messages import DocumentDeleteRequested, JobStatus, JobStatusChanged
from ragline_common.observability.tracing import inject_context
from ragline_common.ports.broker import Broker, Delivery
from ragline_common.topology import ROUTING_DELETE, QueueName
from ragline_gateway.consumers.dead_letter_events import ParkedIngestion, believed_ingestion
from ragline_gateway.consumers.job_events import JobEventHandler
from ragline_gateway.domain.dispatch import JobDispatcher
from ragline_gateway.domain.reindex import IndexModels
from ragline_gateway.ports.catalog import DocumentStore

_log = structlog.get_logger(__name__)


def _names(body: bytes, message_type: str, field: str) -> bool:
    """Whether ``body`` is a ``message_type`` message with a string ``field``."""
    try:
        decoded = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return False
    return (
        isinstance(decoded, dict)
        and decoded.get("type") == message_type
        and isinstance(decoded.get(field), str)
    )


class ReindexProgressHandler:
    """Wraps the job events handler: reindex statuses here, every other event there."""

    def __init__(
        self,
        job_events: JobEventHandler,
        indexes: IndexModels,
        dispatcher: JobDispatcher,
        documents: DocumentStore,
        broker: Broker,
    ) -> None:
        self._job_events = job_events
        self._indexes = indexes
        self._dispatcher = dispatcher
        self._documents = documents
        self._broker = broker
        self._consume = MessageConsumer(
            QueueName.JOB_EVENTS, [route(JobStatusChanged, self._route)]
        )

    async def __call__(self, delivery: Delivery) -> None:
        await self._consume(delivery)

    async def _route(self, message: JobStatusChanged) -> None:
        if message.index_model is None:
            await self._job_events.apply(message)
        else:
            await self._apply(message)

    async def _apply(self, message: JobStatusChanged) -> None:
        changed = await self._indexes.record_progress(message)
        _log.info(
            "reindex_status_applied",
            tenant_id=message.tenant_id,
            task_id=message.job_id,
            index_model=message.index_model,
            status=message.status,
            changed=changed,
        )
        if message.status is JobStatus.INDEXED and message.index_model is not None:
            await self._prune_late_write(message, message.index_model)
        if message.status.is_terminal:
            await self._dispatcher.dispatch(message.tenant_id)

    async def _prune_late_write(self, message: JobStatusChanged, index_model: str) -> None:
        """Delete from ``index_model`` what the task wrote if searches must no longer see it."""
        document = await self._documents.get_document(message.tenant_id, message.document_id)
        if document is None:
            keep_version = None  # deleted, or its tenant erased: every version goes
        elif document.indexed_version is not None and document.indexed_version > message.version:
            keep_version = document.indexed_version  # a newer version replaced this one
        else:
            return
        await self._broker.publish(
            DocumentDeleteRequested(
                tenant_id=message.tenant_id,
                document_id=message.document_id,
                keep_version=keep_version,
                index_models=(index_model,),
            ),
            routing_key=ROUTING_DELETE,
            headers=inject_context(),
        )


class ReindexDeadLetterHandler:
    """Wraps the dead-letter events handler: parked reindex tasks count as failed here."""

    def __init__(
        self,
        dead_letters: Callable[[Delivery], Awaitable[None]],
        indexes: IndexModels,
        dispatcher: JobDispatcher,
    ) -> None:
        self._dead_letters = dead_letters
        self._indexes = indexes
        self._dispatcher = dispatcher
        self._consume = MessageConsumer(
            QueueName.DEAD_LETTER_EVENTS,
            [route(ParkedIngestion, self._fail)],
            decode=believed_ingestion,
        )

    async def __call__(self, delivery: Delivery) -> None:
        if _names(delivery.body, "document.ingest.v1", "reindex_of"):
            await self._consume(delivery)
        else:
            await self._dead_letters(delivery)

    async def _fail(self, parked: ParkedIngestion) -> None:
        try:
            changed = await self._indexes.settle(
                parked.tenant_id,
                parked.job_id,
                failed=True,
                reason=f"{parked.reason} (dead-lettered)",
            )
            if changed:
                await self._dispatcher.dispatch(parked.tenant_id)
        except UpstreamUnavailable as exc:
            raise TransientProcessingError(exc.detail) from exc
        _log.info("dead_letter_reindex_task_failed", task_id=parked.job_id, changed=changed)
