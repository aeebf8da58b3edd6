"""The catalog on SQLite (monolithic mode) or PostgreSQL (microservices), one code path for both.

Concurrency comes from the database, not from process memory, so any number of gateway replicas
can share one PostgreSQL catalog: read-check-write sequences lock the rows they decide on
(``SELECT ... FOR UPDATE``; SQLite serialises writers with ``BEGIN IMMEDIATE`` instead), and a
race to create the same external id is settled by its unique constraint plus one retry.

Each role of the port has a class of its own (``tenant_directory``, ``document_store``,
``pending_erasures``, ``dispatch_queue``, ``job_status``, ``usage``, ``idempotency``,
``index_models``);
:class:`SqlCatalog` owns the engine they share, hands them their connections and answers for
all of them, as the gateway's wiring wants one catalog.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import date, datetime

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection

from ragline_common.errors import UpstreamUnavailable
from ragline_common.messages import JobStatus
from ragline_common.tenancy import Scope, TenantId
from ragline_gateway.adapters.catalog.connections import Connections
from ragline_gateway.adapters.catalog.dispatch_queue import SqlDispatchQueue
from ragline_gateway.adapters.catalog.document_store import SqlDocumentStore
from ragline_gateway.adapters.catalog.engine import (
    create_catalog_engine,
    for_reading,
    for_writing,
    sqlite_file,
    unavailable_on_outage,
)
from ragline_gateway.adapters.catalog.idempotency import SqlIdempotencyStore
from ragline_gateway.adapters.catalog.index_models import SqlIndexModels
from ragline_gateway.adapters.catalog.job_listing import SqlJobListing
from ragline_gateway.adapters.catalog.job_status import SqlJobStatusLedger
from ragline_gateway.adapters.catalog.migrate import upgrade_to_head
from ragline_gateway.adapters.catalog.pending_erasures import SqlPendingErasures
from ragline_gateway.adapters.catalog.sqlite_versions import SqliteVersionReader
from ragline_gateway.adapters.catalog.tenant_directory import SqlTenantDirectory
from ragline_gateway.adapters.catalog.usage import SqlUsageTotals
from ragline_gateway.ports.catalog import (
    ApiKeyRecord,
    DispatchQueue,
    DocumentDraft,
    DocumentRecord,
    DocumentStore,
    IdempotencyClaim,
    IdempotencyStore,
    IndexModelRecord,
    IndexModelRegistry,
    JobListing,
    JobRecord,
    JobStatusLedger,
    JobStatusUpdate,
    PendingErasures,
    ReindexQueue,
    ReindexTask,
    StorageUsage,
    StoredResponse,
    Submission,
    TenantDirectory,
    TenantLimits,
    TenantRecord,
    TraceContext,
    UnpublishedJob,
    UsageDelta,
    UsageRecord,
    UsageTotals,
)


class SqlCatalog:
    """:class:`~ragline_gateway.ports.catalog.Catalog` on SQLAlchemy's async engine.

    Constructing it connects to nothing; :meth:`open` migrates the schema, :meth:`close` releases
    the pool. Database outages surface as :class:`UpstreamUnavailable`. Every method hands over
    to the role that implements it; every role's statements take their connections from
    :meth:`_reading` and :meth:`_writing`.
    """

    def __init__(self, url: str, pool_size: int) -> None:
        self._engine = create_catalog_engine(url, pool_size)
        self._read_engine = for_reading(self._engine)
        self._write_engine = for_writing(self._engine)
        self._database_file = sqlite_file(url)
        self._sqlite_versions = (
            SqliteVersionReader(self._database_file) if self._database_file is not None else None
        )
        # Typed as the port's roles, so each class is checked against the role it implements.
        connections = Connections(reading=self._reading, writing=self._writing)
        self._tenants: TenantDirectory = SqlTenantDirectory(connections)
        self._documents: DocumentStore = SqlDocumentStore(connections, self._sqlite_versions)
        self._erasures: PendingErasures = SqlPendingErasures(connections)
        self._queue: DispatchQueue = SqlDispatchQueue(connections)
        self._job_status: JobStatusLedger = SqlJobStatusLedger(connections)
        self._job_listing: JobListing = SqlJobListing(connections)
        self._usage: UsageTotals = SqlUsageTotals(connections)
        self._idempotency: IdempotencyStore = SqlIdempotencyStore(connections)
        index_models = SqlIndexModels(connections)
        self._index_models: IndexModelRegistry = index_models
        self._reindex_queue: ReindexQueue = index_models

    async def open(self) -> None:
        if self._database_file is not None:
            self._database_file.parent.mkdir(parents=True, exist_ok=True)
        with unavailable_on_outage():
            await upgrade_to_head(self._write_engine)

    async def close(self) -> None:
        if self._sqlite_versions is not None:
            self._sqlite_versions.close()
        await self._engine.dispose()

    async def ping(self) -> None:
        try:
            async with self._engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except (SQLAlchemyError, OSError, TimeoutError) as exc:
            raise UpstreamUnavailable("The catalog database is unavailable.") from exc

    @asynccontextmanager
    async def _reading(self) -> AsyncIterator[AsyncConnection]:
        with unavailable_on_outage():
            async with self._read_engine.connect() as connection:
                yield connection

    @asynccontextmanager
    async def _writing(self) -> AsyncIterator[AsyncConnection]:
        """One transaction, committed when the block ends without an exception."""
        with unavailable_on_outage():
            async with self._write_engine.begin() as connection:
                yield connection

    # tenant directory

    async def create_tenant(self, name: str) -> TenantRecord:
        return await self._tenants.create_tenant(name)

    async def get_tenant(self, tenant_id: TenantId) -> TenantRecord | None:
        return await self._tenants.get_tenant(tenant_id)

    async def list_tenants(self) -> list[TenantRecord]:
        return await self._tenants.list_tenants()

    async def delete_tenant(self, tenant_id: TenantId) -> bool:
        return await self._tenants.delete_tenant(tenant_id)

    async def get_tenant_limits(self, tenant_id: TenantId) -> TenantLimits | None:
        return await self._tenants.get_tenant_limits(tenant_id)

    async def set_tenant_limits(self, tenant_id: TenantId, limits: TenantLimits) -> bool:
        return await self._tenants.set_tenant_limits(tenant_id, limits)

    async def create_api_key(
        self,
        tenant_id: TenantId,
        *,
        name: str,
        prefix: str,
        key_hash: str,
        scopes: frozenset[Scope],
        expires_at: datetime | None,
    ) -> ApiKeyRecord:
        return await self._tenants.create_api_key(
            tenant_id,
            name=name,
            prefix=prefix,
            key_hash=key_hash,
            scopes=scopes,
            expires_at=expires_at,
        )

    async def find_api_key(self, key_hash: str) -> ApiKeyRecord | None:
        return await self._tenants.find_api_key(key_hash)

    async def list_api_keys(self, tenant_id: TenantId) -> list[ApiKeyRecord]:
        return await self._tenants.list_api_keys(tenant_id)

    async def revoke_api_key(self, tenant_id: TenantId, key_id: str) -> bool:
        return await self._tenants.revoke_api_key(tenant_id, key_id)

    async def touch_api_key(self, key_id: str, when: datetime) -> None:
        await self._tenants.touch_api_key(key_id, when)

    async def retire_api_key(
        self, tenant_id: TenantId, key_id: str, *, replaced_by: str, expires_at: datetime
    ) -> bool:
        return await self._tenants.retire_api_key(
            tenant_id, key_id, replaced_by=replaced_by, expires_at=expires_at
        )

    # document store

    async def submit_document(
        self,
        tenant_id: TenantId,
        draft: DocumentDraft,
        content: bytes,
        *,
        trace: TraceContext | None = None,
    ) -> Submission:
        return await self._documents.submit_document(tenant_id, draft, content, trace=trace)

    async def get_document(self, tenant_id: TenantId, document_id: str) -> DocumentRecord | None:
        return await self._documents.get_document(tenant_id, document_id)

    async def find_document_by_external_id(
        self, tenant_id: TenantId, external_id: str
    ) -> DocumentRecord | None:
        return await self._documents.find_document_by_external_id(tenant_id, external_id)

    async def list_documents(
        self, tenant_id: TenantId, *, limit: int, offset: int
    ) -> list[DocumentRecord]:
        return await self._documents.list_documents(tenant_id, limit=limit, offset=offset)

    async def get_document_content(
        self, tenant_id: TenantId, document_id: str, version: int
    ) -> bytes | None:
        return await self._documents.get_document_content(tenant_id, document_id, version)

    async def get_document_to_send(
        self, tenant_id: TenantId, document_id: str, version: int
    ) -> tuple[DocumentRecord, bytes] | None:
        return await self._documents.get_document_to_send(tenant_id, document_id, version)

    async def delete_document(self, tenant_id: TenantId, document_id: str) -> bool:
        return await self._documents.delete_document(tenant_id, document_id)

    async def active_versions(
        self, tenant_id: TenantId, document_ids: Sequence[str]
    ) -> dict[str, int]:
        return await self._documents.active_versions(tenant_id, document_ids)

    async def storage_usage(self, tenant_id: TenantId) -> StorageUsage:
        return await self._documents.storage_usage(tenant_id)

    async def get_job(self, tenant_id: TenantId, job_id: str) -> JobRecord | None:
        return await self._documents.get_job(tenant_id, job_id)

    async def list_jobs(self, tenant_id: TenantId, document_id: str) -> list[JobRecord]:
        return await self._documents.list_jobs(tenant_id, document_id)

    # pending erasures

    async def mark_erasure_requested(self, tenant_id: TenantId, document_id: str) -> None:
        await self._erasures.mark_erasure_requested(tenant_id, document_id)

    async def documents_pending_erasure(self, *, limit: int) -> list[tuple[TenantId, str]]:
        return await self._erasures.documents_pending_erasure(limit=limit)

    # dispatch queue

    async def next_unpublished(self, tenant_id: TenantId, *, limit: int) -> list[UnpublishedJob]:
        return await self._queue.next_unpublished(tenant_id, limit=limit)

    async def tenants_with_unpublished(self, *, limit: int) -> list[TenantId]:
        return await self._queue.tenants_with_unpublished(limit=limit)

    async def mark_jobs_published(self, tenant_id: TenantId, job_ids: Sequence[str]) -> None:
        await self._queue.mark_jobs_published(tenant_id, job_ids)

    async def count_in_flight(self, tenant_id: TenantId) -> int:
        return await self._queue.count_in_flight(tenant_id)

    async def reset_publication(self) -> int:
        return await self._queue.reset_publication()

    async def unfinished_jobs(
        self, *, published: bool | None, limit: int, offset: int = 0
    ) -> Sequence[JobRecord]:
        return await self._queue.unfinished_jobs(published=published, limit=limit, offset=offset)

    async def count_unfinished_jobs(self) -> int:
        return await self._queue.count_unfinished_jobs()

    async def count_tenant_unfinished_jobs(self, tenant_id: TenantId) -> int:
        return await self._queue.count_tenant_unfinished_jobs(tenant_id)

    # job status ledger

    async def apply_job_status(
        self,
        tenant_id: TenantId,
        job_id: str,
        status: JobStatus,
        *,
        chunk_count: int | None,
        reason: str | None,
    ) -> bool:
        return await self._job_status.apply_job_status(
            tenant_id, job_id, status, chunk_count=chunk_count, reason=reason
        )

    async def apply_job_statuses(self, updates: Sequence[JobStatusUpdate]) -> list[bool]:
        return await self._job_status.apply_job_statuses(updates)

    async def reopen_job(self, tenant_id: TenantId, job_id: str) -> bool:
        return await self._job_status.reopen_job(tenant_id, job_id)

    # job listing

    async def find_jobs(
        self,
        tenant_id: TenantId,
        *,
        status: JobStatus | None,
        document_id: str | None,
        limit: int,
        offset: int,
    ) -> list[JobRecord]:
        return await self._job_listing.find_jobs(
            tenant_id, status=status, document_id=document_id, limit=limit, offset=offset
        )

    # usage totals

    async def record_usage(self, tenant_id: TenantId, delta: UsageDelta, *, when: datetime) -> None:
        await self._usage.record_usage(tenant_id, delta, when=when)

    async def usage_between(
        self, tenant_id: TenantId, *, first_day: date, last_day: date
    ) -> list[UsageRecord]:
        return await self._usage.usage_between(tenant_id, first_day=first_day, last_day=last_day)

    async def tokens_used_on(self, tenant_id: TenantId, day: date) -> int:
        return await self._usage.tokens_used_on(tenant_id, day)

    # idempotency store

    async def claim_idempotency_key(
        self,
        tenant_id: TenantId,
        key: str,
        fingerprint: str,
        *,
        now: datetime,
        lease_s: float,
        ttl_s: float,
    ) -> IdempotencyClaim:
        return await self._idempotency.claim_idempotency_key(
            tenant_id, key, fingerprint, now=now, lease_s=lease_s, ttl_s=ttl_s
        )

    async def complete_idempotency_key(
        self, tenant_id: TenantId, key: str, response: StoredResponse
    ) -> None:
        await self._idempotency.complete_idempotency_key(tenant_id, key, response)

    async def release_idempotency_key(self, tenant_id: TenantId, key: str) -> None:
        await self._idempotency.release_idempotency_key(tenant_id, key)

    async def purge_idempotency_keys(self, *, before: datetime) -> int:
        return await self._idempotency.purge_idempotency_keys(before=before)

    # index model registry (reindexing, ADR 0018)

    async def active_index_model(self, default_spec: str) -> str:
        return await self._index_models.active_index_model(default_spec)

    async def list_index_models(self) -> list[IndexModelRecord]:
        return await self._index_models.list_index_models()

    async def get_index_model(self, spec: str) -> IndexModelRecord | None:
        return await self._index_models.get_index_model(spec)

    async def start_reindex(self, spec: str, *, default_spec: str) -> IndexModelRecord:
        return await self._index_models.start_reindex(spec, default_spec=default_spec)

    async def activate_index_model(self, spec: str) -> IndexModelRecord:
        return await self._index_models.activate_index_model(spec)

    async def begin_drop(self, spec: str) -> IndexModelRecord:
        return await self._index_models.begin_drop(spec)

    async def finish_drop(self, spec: str) -> None:
        await self._index_models.finish_drop(spec)

    # reindex queue

    async def next_reindex_tasks(self, tenant_id: TenantId, *, limit: int) -> list[ReindexTask]:
        return await self._reindex_queue.next_reindex_tasks(tenant_id, limit=limit)

    async def tenants_with_reindex_tasks(self, *, limit: int) -> list[TenantId]:
        return await self._reindex_queue.tenants_with_reindex_tasks(limit=limit)

    async def mark_reindex_task_published(self, tenant_id: TenantId, task_id: str) -> None:
        await self._reindex_queue.mark_reindex_task_published(tenant_id, task_id)

    async def count_reindex_in_flight(self, tenant_id: TenantId) -> int:
        return await self._reindex_queue.count_reindex_in_flight(tenant_id)

    async def finish_reindex_task(
        self, tenant_id: TenantId, task_id: str, *, failed: bool, reason: str | None
    ) -> IndexModelRecord | None:
        return await self._reindex_queue.finish_reindex_task(
            tenant_id, task_id, failed=failed, reason=reason
        )

    async def reset_reindex_publication(self) -> int:
        return await self._reindex_queue.reset_reindex_publication()
