"""Applying the worker's job status events to the catalog the gateway owns.

When a version becomes the indexed one, searches switch to it in the catalog first; only then
does the gateway ask the worker to prune the other versions' chunks. A document deleted while
it was being indexed gets its chunks deleted again, so a late write cannot resurrect it.

A catalog or broker outage is left to propagate as ``UpstreamUnavailable``: ``settle()`` turns it
into a delayed retry that does not use up the delivery limit, so a failover of a few seconds
delays statuses instead of dead-lettering them (and leaving jobs unsearchable, holding their
tenant's dispatch window). Applying an event again is harmless: transitions are idempotent.
A message of another type is dead-lettered: the queue is bound to status events only, so one
would be a publisher's bug, for an operator to see.
"""

from __future__ import annotations

from typing import Protocol

import structlog

from ragline_common.consuming import MessageConsumer, route
from ragline_common.messages import DocumentDeleteRequested, JobStatus, JobStatusChanged
from ragline_common.observability.metrics import JOBS
from ragline_common.observability.tracing import inject_context
from ragline_common.ports.broker import Broker, Delivery
from ragline_common.topology import ROUTING_DELETE, QueueName
from ragline_gateway.domain.dispatch import JobDispatcher
from ragline_gateway.domain.reindex import IndexModels
from ragline_gateway.domain.status_batches import CoalescingStatusApplier
from ragline_gateway.ports.catalog import DocumentStore, JobStatusLedger, JobStatusUpdate

_log = structlog.get_logger(__name__)


class JobEventCatalog(JobStatusLedger, DocumentStore, Protocol):
    """What applying job events reads and writes: job statuses, and the document they index."""


class JobEventHandler:
    def __init__(
        self,
        catalog: JobEventCatalog,
        broker: Broker,
        dispatcher: JobDispatcher,
        indexes: IndexModels | None = None,
    ) -> None:
        self._catalog = catalog
        self._broker = broker
        self._dispatcher = dispatcher
        self._indexes = indexes  # None: prune the default index only
        # Events delivered together (up to the consumer's prefetch) share one transaction.
        self._statuses = CoalescingStatusApplier(catalog)
        # Its span continues the worker's trace (the upload's): applying a status is part of it.
        self._consume = MessageConsumer(QueueName.JOB_EVENTS, [route(JobStatusChanged, self.apply)])

    async def __call__(self, delivery: Delivery) -> None:
        await self._consume(delivery)

    async def apply(self, message: JobStatusChanged) -> None:
        """Apply one decoded event (its delivery's span and log context already entered)."""
        changed = await self._statuses.apply(
            JobStatusUpdate(
                tenant_id=message.tenant_id,
                job_id=message.job_id,
                status=message.status,
                chunk_count=message.chunk_count,
                reason=message.reason,
                embedding_tokens=message.embedding_tokens,
                embedding_model=message.embedding_model,
            )
        )
        _log.info(
            "job_status_applied",
            tenant_id=message.tenant_id,
            job_id=message.job_id,
            status=message.status,
            changed=changed,
        )
        if changed:
            JOBS.labels(message.status.value).inc()
        if message.status is JobStatus.INDEXED and (message.version > 1 or not changed):
            # A first version has nothing older to prune; an event that changed nothing may
            # belong to a document deleted meanwhile, whose chunks must go again.
            await self._prune(message)
        if message.status.is_terminal:
            # A slot in the tenant's window is free: send its next waiting job.
            await self._dispatcher.dispatch(message.tenant_id)

    async def _prune(self, message: JobStatusChanged) -> None:
        """Ask for the chunks searches no longer show to be deleted (idempotent).

        ``keep_version`` prunes only older versions: a newer job of the same document may have
        written its chunks already, and its own ``indexed`` event prunes this one later.
        """
        document = await self._catalog.get_document(message.tenant_id, message.document_id)
        keep_version = document.indexed_version if document is not None else None
        if document is not None and keep_version is None:
            return
        await self._broker.publish(
            DocumentDeleteRequested(
                tenant_id=message.tenant_id,
                document_id=message.document_id,
                keep_version=keep_version,
                index_models=await self._indexes.kept() if self._indexes is not None else (),
            ),
            routing_key=ROUTING_DELETE,
            headers=inject_context(),
        )
