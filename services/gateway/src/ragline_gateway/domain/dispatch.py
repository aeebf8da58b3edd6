"""Fair dispatch of ingestion jobs: at most a window of jobs per tenant in the queue at once.

An upload is durable once it is in the catalog (content included); the dispatcher then
publishes the tenant's oldest waiting jobs while the tenant has fewer than ``window`` jobs
published and unfinished, and tops the window up when a job finishes. One tenant's thousands of
queued documents therefore hold the broker queue to ``window`` of theirs, and another tenant's
single document waits behind at most that many, not behind the whole backlog (ADR 0008).

Published jobs are confirmed by the broker before they are marked published; a crash between
the two publishes the job again later, and the worker's deterministic point ids make that
harmless. A sweeper runs :meth:`dispatch_all` to cover crashes, broker outages and replicas.
Requests for a tenant whose dispatch is already running do not queue up behind it (a burst of
finished jobs would otherwise run as many dispatches): they ask the running one to go round
once more, which sees every slot freed meanwhile.
Each job is published in its upload's trace, from the context stored with it.
"""

from __future__ import annotations

import asyncio

import structlog

from ragline_common.errors import UpstreamUnavailable
from ragline_common.ports.broker import Broker
from ragline_common.ports.catalog import Catalog, DocumentRecord, JobRecord
from ragline_common.tenancy import TenantId
from ragline_common.topology import ROUTING_INGEST
from ragline_gateway.domain.job_trace import dispatch_span
from ragline_gateway.domain.uploads import ingest_message

_log = structlog.get_logger(__name__)
_TENANTS_PER_SWEEP = 1000


class JobDispatcher:
    def __init__(self, catalog: Catalog, broker: Broker, *, window: int) -> None:
        self._catalog = catalog
        self._broker = broker
        self._window = window
        self._locks: dict[TenantId, asyncio.Lock] = {}
        self._again: set[TenantId] = set()

    async def dispatch(self, tenant_id: TenantId) -> int:
        """Publish the tenant's next jobs into its free window; returns how many went out
        (0 if a dispatch for the tenant was running: that one publishes them)."""
        lock = self._locks.setdefault(tenant_id, asyncio.Lock())
        if lock.locked():
            self._again.add(tenant_id)
            return 0
        published = 0
        async with lock:
            while True:
                self._again.discard(tenant_id)
                try:
                    published += await self._dispatch_locked(tenant_id)
                except UpstreamUnavailable as exc:
                    # The jobs stay in the catalog; the sweeper tries again.
                    _log.warning("dispatch_deferred", tenant_id=tenant_id, reason=exc.detail)
                    return published
                if tenant_id not in self._again:
                    return published

    async def _dispatch_locked(self, tenant_id: TenantId) -> int:
        free = self._window - await self._catalog.count_in_flight(tenant_id)
        if free <= 0:
            return 0
        published = 0
        for job in await self._catalog.next_unpublished(tenant_id, limit=free):
            document = await self._catalog.get_document(tenant_id, job.document_id)
            content = await self._catalog.get_document_content(
                tenant_id, job.document_id, job.version
            )
            if document is None or content is None:
                continue  # deleted meanwhile: its job was failed with the deletion
            await self._publish(document, job, content)
            published += 1
        return published

    async def _publish(self, document: DocumentRecord, job: JobRecord, content: bytes) -> None:
        # In the upload's trace, whenever and from wherever the job goes out (job_trace).
        with dispatch_span(job):
            await self._broker.publish(
                ingest_message(document, job, content), routing_key=ROUTING_INGEST
            )
            await self._catalog.mark_job_published(document.tenant_id, job.id)

    async def dispatch_all(self) -> int:
        """One pass over every tenant with waiting jobs, oldest waiting first."""
        total = 0
        for tenant_id in await self._catalog.tenants_with_unpublished(limit=_TENANTS_PER_SWEEP):
            total += await self.dispatch(tenant_id)
        if total:
            _log.info("jobs_dispatched", count=total)
        return total
