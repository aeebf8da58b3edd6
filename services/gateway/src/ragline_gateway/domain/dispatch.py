"""Fair dispatch of ingestion jobs: at most a window of jobs per tenant in the queue at once.

An upload is durable once it is in the catalog (content included); the dispatcher then
publishes the tenant's oldest waiting jobs while the tenant has fewer than ``window`` jobs
published and unfinished, and tops the window up when a job finishes. One tenant's thousands of
queued documents therefore hold the broker queue to ``window`` of theirs, and another tenant's
single document waits behind at most that many, not behind the whole backlog (ADR 0008).

Published jobs are confirmed by the broker before they are marked published, all of a dispatch
round's in one statement, and read with their documents and small contents in one (a statement
per job was a catalog round trip each, ~1.5% of gateway CPU for the read); a crash between
the two publishes the jobs again later, and the worker's deterministic point ids make that
harmless. A sweeper runs :meth:`dispatch_all` to cover crashes, broker outages and replicas.
Requests for a tenant whose dispatch is already running do not queue up behind it (a burst of
finished jobs would otherwise run as many dispatches): they ask the running one to go round
once more, which sees every slot freed meanwhile. A round lets the callers already on their way
ask before it reads (the other events of one status batch, whose changes are committed): it
serves them all, where it used to be followed by a second round that found the window full.
Each job is published in its upload's trace, from the context stored with it.

Reindex tasks (ADR 0018) share each tenant's window with its uploads: a tenant's uploads go out
first, and the window's remaining slots take its oldest reindex tasks. A reindex of every
tenant's documents therefore interleaves in the broker queue tenant by tenant, like uploads do,
and an upload never waits behind a reindex for more than the window. Upload messages name the
indexes they must be written to (the active one, and the building one during a reindex).

Failures stay where they happen. A job whose ingest message cannot be built (metadata stored
before today's rules, say) is failed with the reason and the next job goes out; an unexpected
error in one tenant's dispatch is logged and the sweep moves on to the next tenant. Otherwise one
bad row would stop every later tenant on every sweep, and a start-up that dispatches would fail.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

import structlog
from pydantic import ValidationError

from ragline_common.errors import UpstreamUnavailable
from ragline_common.messages import DocumentIngestRequested, JobStatus
from ragline_common.observability.metrics import JOBS
from ragline_common.ports.broker import Broker
from ragline_common.tenancy import TenantId
from ragline_common.topology import ROUTING_INGEST
from ragline_gateway.domain.job_trace import dispatch_span
from ragline_gateway.domain.reindex import IndexModels
from ragline_gateway.ports.catalog import DispatchQueue, DocumentRecord, JobRecord, ReindexTask

_log = structlog.get_logger(__name__)
_TENANTS_PER_SWEEP = 1000


class DispatchCatalog(DispatchQueue, Protocol):
    """What the dispatcher needs of the catalog: the dispatch queue (whose waiting jobs come
    with their documents and small contents), and beyond it the document and content of each
    reindex task and large upload (one read for both) and the status of a job no worker could
    be sent.

    The three are named here rather than taken as the whole ``DocumentStore`` and
    ``JobStatusLedger``, whose other methods (submitting, listing, deleting documents; job
    events) the dispatcher never calls.
    """

    async def get_document_to_send(
        self, tenant_id: TenantId, document_id: str, version: int
    ) -> tuple[DocumentRecord, bytes] | None: ...

    async def apply_job_status(
        self,
        tenant_id: TenantId,
        job_id: str,
        status: JobStatus,
        *,
        chunk_count: int | None,
        reason: str | None,
    ) -> bool: ...


def ingest_message(
    document: DocumentRecord,
    job: JobRecord,
    content: bytes,
    *,
    index_models: tuple[str, ...] = (),
) -> DocumentIngestRequested:
    """The command that asks the worker to index ``job``'s version of ``document`` into each of
    ``index_models`` (empty: the worker's default index)."""
    return _command(document, job.id, job.version, content, index_models=index_models)


def reindex_message(
    document: DocumentRecord, task: ReindexTask, content: bytes
) -> DocumentIngestRequested:
    """The command that asks the worker to embed one live version into ``task.spec``'s index
    only, reporting with ``index_model`` set (the document's own job is not touched)."""
    return _command(
        document, task.id, task.version, content, index_models=(task.spec,), reindex_of=task.spec
    )


def _command(
    document: DocumentRecord,
    job_id: str,
    version: int,
    content: bytes,
    *,
    index_models: tuple[str, ...],
    reindex_of: str | None = None,
) -> DocumentIngestRequested:
    return DocumentIngestRequested(
        tenant_id=document.tenant_id,
        document_id=document.id,
        job_id=job_id,
        version=version,
        title=document.title,
        source_name=document.source_name,
        content_type=document.content_type,
        content=content,
        content_hash=document.content_hash,
        metadata=document.metadata,
        index_models=index_models,
        reindex_of=reindex_of,
    )


class JobDispatcher:
    def __init__(
        self,
        catalog: DispatchCatalog,
        broker: Broker,
        *,
        window: int,
        indexes: IndexModels | None = None,
    ) -> None:
        """``indexes`` None: no reindexing, every message goes to the worker's default index."""
        self._catalog = catalog
        self._broker = broker
        self._window = window
        self._indexes = indexes
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
                await asyncio.sleep(0)  # the callers ready to run ask first (see the module)
                self._again.discard(tenant_id)
                try:
                    published += await self._dispatch_locked(tenant_id)
                except UpstreamUnavailable as exc:
                    # The jobs stay in the catalog; the sweeper tries again.
                    _log.warning("dispatch_deferred", tenant_id=tenant_id, reason=exc.detail)
                    return published
                except Exception:
                    # Never the caller's problem: an upload is committed already, and a sweep
                    # must go on to the other tenants. The sweeper tries this one again.
                    _log.exception("dispatch_failed", tenant_id=tenant_id)
                    return published
                if tenant_id not in self._again:
                    return published

    async def _dispatch_locked(self, tenant_id: TenantId) -> int:
        free = self._window - await self._catalog.count_in_flight(tenant_id)
        if free <= 0:
            return 0
        written: tuple[str, ...] = ()
        reindexing = False
        if self._indexes is not None:
            # One read of the index states; the reindex queries only while one builds.
            targets = await self._indexes.write_targets()
            written, reindexing = targets.index_models, targets.building
            if reindexing:
                free -= await self._indexes.queue.count_reindex_in_flight(tenant_id)
                if free <= 0:
                    return 0
        jobs = await self._catalog.next_unpublished(tenant_id, limit=free)
        published: list[str] = []
        try:
            for waiting in jobs:
                job = waiting.job
                sent = waiting.sent or await self._catalog.get_document_to_send(
                    tenant_id, job.document_id, job.version
                )
                if sent is None:
                    continue  # deleted meanwhile: its job was failed with the deletion
                document, content = sent
                try:
                    message = ingest_message(document, job, content, index_models=written)
                except ValidationError as exc:
                    await self._fail_unsendable(job, exc)
                    continue
                # In the upload's trace, whenever and from wherever the job goes out.
                with dispatch_span(job):
                    await self._broker.publish(message, routing_key=ROUTING_INGEST)
                published.append(job.id)
        finally:
            # Also when a later publish failed: what the broker confirmed is not sent again.
            if published:
                await self._catalog.mark_jobs_published(tenant_id, published)
        count = len(published)
        if reindexing and len(jobs) < free:
            count += await self._dispatch_reindex(tenant_id, free - len(jobs))
        return count

    async def _dispatch_reindex(self, tenant_id: TenantId, free: int) -> int:
        """Fill the window's free slots with the tenant's oldest reindex tasks."""
        assert self._indexes is not None
        queue = self._indexes.queue
        published = 0
        for task in await queue.next_reindex_tasks(tenant_id, limit=free):
            sent = await self._catalog.get_document_to_send(
                tenant_id, task.document_id, task.version
            )
            try:
                message = None if sent is None else reindex_message(sent[0], task, sent[1])
            except ValidationError:
                message = None  # its upload was failed for this already; nothing to embed
            if message is None:
                # Deleted meanwhile (or never sendable): nothing to embed, the task is done.
                await self._indexes.settle(task.tenant_id, task.id, failed=False, reason=None)
                continue
            await self._broker.publish(message, routing_key=ROUTING_INGEST)
            await queue.mark_reindex_task_published(tenant_id, task.id)
            published += 1
        return published

    async def _fail_unsendable(self, job: JobRecord, exc: ValidationError) -> None:
        """Fail a job no worker could be sent, saying why (never the offending values)."""
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
            for error in exc.errors(include_url=False, include_input=False, include_context=False)
        )
        reason = f"the document cannot be sent for indexing ({problems}); upload it again"
        changed = await self._catalog.apply_job_status(
            job.tenant_id, job.id, JobStatus.FAILED, chunk_count=None, reason=reason[:1000]
        )
        if changed:
            JOBS.labels(JobStatus.FAILED.value).inc()
        _log.warning("job_failed_unsendable", job_id=job.id, document_id=job.document_id)

    async def dispatch_all(self) -> int:
        """One pass over every tenant with waiting jobs, oldest waiting first."""
        total = 0
        tenants = await self._catalog.tenants_with_unpublished(limit=_TENANTS_PER_SWEEP)
        if self._indexes is not None and (await self._indexes.write_targets()).building:
            reindexing = await self._indexes.queue.tenants_with_reindex_tasks(
                limit=_TENANTS_PER_SWEEP
            )
            waiting = set(tenants)
            tenants += [tenant for tenant in reindexing if tenant not in waiting]
        for tenant_id in tenants:
            total += await self.dispatch(tenant_id)
        if total:
            _log.info("jobs_dispatched", count=total)
        return total
