"""The catalog on SQLite (monolithic mode) or PostgreSQL (microservices), one code path for both.

Concurrency comes from the database, not from process memory, so any number of gateway replicas
can share one PostgreSQL catalog: read-check-write sequences lock the rows they decide on
(``SELECT ... FOR UPDATE``; SQLite serialises writers with ``BEGIN IMMEDIATE`` instead), and a
race to create the same external id is settled by its unique constraint plus one retry.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime

from sqlalchemy import RowMapping, delete, func, insert, or_, select, text, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.expression import ColumnElement, Executable

from ragline_common.errors import Conflict, NotFound, UpstreamUnavailable
from ragline_common.ids import new_id
from ragline_common.messages import JobStatus
from ragline_common.tenancy import Scope, TenantId
from ragline_gateway.adapters.catalog import idempotency, job_status, tenant_policy
from ragline_gateway.adapters.catalog.engine import (
    create_catalog_engine,
    for_reading,
    for_writing,
    sqlite_file,
    unavailable_on_outage,
)
from ragline_gateway.adapters.catalog.migrate import upgrade_to_head
from ragline_gateway.adapters.catalog.rows import (
    api_key_record,
    document_record,
    job_record,
    scopes_column,
    tenant_record,
    utc,
)
from ragline_gateway.adapters.catalog.sqlite_versions import SqliteVersionReader
from ragline_gateway.adapters.catalog.tables import (
    api_keys,
    document_blobs,
    documents,
    idempotency_keys,
    jobs,
    tenants,
    usage_daily,
)
from ragline_gateway.adapters.catalog.usage import add_usage, tokens_on, usage_rows
from ragline_gateway.ports.catalog import (
    ApiKeyRecord,
    DocumentDraft,
    DocumentRecord,
    IdempotencyClaim,
    JobRecord,
    JobStatusUpdate,
    StorageUsage,
    StoredResponse,
    Submission,
    TenantLimits,
    TenantRecord,
    TraceContext,
    UsageDelta,
    UsageRecord,
)

_UNFINISHED = (JobStatus.QUEUED.value, JobStatus.PROCESSING.value)

_SUBMIT_ATTEMPTS = 3
"""The unique-constraint race on a new external id is lost at most once: the retry sees the row."""


async def _one(connection: AsyncConnection, statement: Executable) -> RowMapping:
    """The single row a statement must return (``INSERT ... RETURNING`` and the like)."""
    return (await connection.execute(statement)).mappings().one()


async def _first(connection: AsyncConnection, statement: Executable) -> RowMapping | None:
    return (await connection.execute(statement)).mappings().first()


def _now() -> datetime:
    return datetime.now(UTC)


class SqlCatalog:
    """:class:`~ragline_gateway.ports.catalog.Catalog` on SQLAlchemy's async engine.

    Constructing it connects to nothing; :meth:`open` migrates the schema, :meth:`close` releases
    the pool. Database outages surface as :class:`UpstreamUnavailable`.
    """

    def __init__(self, url: str, pool_size: int) -> None:
        self._engine = create_catalog_engine(url, pool_size)
        self._read_engine = for_reading(self._engine)
        self._write_engine = for_writing(self._engine)
        self._database_file = sqlite_file(url)
        self._sqlite_versions = (
            SqliteVersionReader(self._database_file) if self._database_file is not None else None
        )

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

    # tenants

    async def create_tenant(self, name: str) -> TenantRecord:
        async with self._writing() as connection:
            row = await _one(
                connection,
                insert(tenants)
                .values(id=new_id("ten"), name=name, created_at=_now())
                .returning(tenants),
            )
        return tenant_record(row)

    async def get_tenant(self, tenant_id: TenantId) -> TenantRecord | None:
        async with self._reading() as connection:
            row = await _first(connection, select(tenants).where(tenants.c.id == tenant_id))
        return None if row is None else tenant_record(row)

    async def list_tenants(self) -> list[TenantRecord]:
        async with self._reading() as connection:
            rows = (
                await connection.execute(
                    select(tenants).order_by(tenants.c.created_at, tenants.c.id)
                )
            ).mappings()
            return [tenant_record(row) for row in rows]

    async def delete_tenant(self, tenant_id: TenantId) -> bool:
        """Erase the tenant and every row it owns; ``False`` when there was no such tenant.

        The tenant row is locked first, so a concurrent submit or key creation for it waits and
        then finds no tenant, instead of slipping a row in between the deletes.
        """
        async with self._writing() as connection:
            found = (
                await connection.execute(
                    select(tenants.c.id).where(tenants.c.id == tenant_id).with_for_update()
                )
            ).first()
            if found is None:
                return False
            for table in (jobs, document_blobs, documents, api_keys, usage_daily, idempotency_keys):
                await connection.execute(delete(table).where(table.c.tenant_id == tenant_id))
            await connection.execute(delete(tenants).where(tenants.c.id == tenant_id))
        return True

    async def _require_tenant(self, connection: AsyncConnection, tenant_id: TenantId) -> None:
        """Fail with NotFound unless the tenant exists, and keep it so until commit."""
        found = (
            await connection.execute(
                select(tenants.c.id)
                .where(tenants.c.id == tenant_id)
                .with_for_update(read=True, key_share=True)
            )
        ).first()
        if found is None:
            raise NotFound(f"Tenant {tenant_id} does not exist.")

    # usage (generation; the statements live in usage.py)

    async def record_usage(self, tenant_id: TenantId, delta: UsageDelta, *, when: datetime) -> None:
        async with self._writing() as connection:
            await add_usage(connection, tenant_id, delta, when)

    async def usage_between(
        self, tenant_id: TenantId, *, first_day: date, last_day: date
    ) -> list[UsageRecord]:
        async with self._reading() as connection:
            return await usage_rows(connection, tenant_id, first_day, last_day)

    async def tokens_used_on(self, tenant_id: TenantId, day: date) -> int:
        async with self._reading() as connection:
            return await tokens_on(connection, tenant_id, day)

    # limits, quotas, key rotation and idempotency (gateway; statements in tenant_policy.py
    # and idempotency.py)

    async def get_tenant_limits(self, tenant_id: TenantId) -> TenantLimits | None:
        async with self._reading() as connection:
            return await tenant_policy.tenant_limits(connection, tenant_id)

    async def set_tenant_limits(self, tenant_id: TenantId, limits: TenantLimits) -> bool:
        async with self._writing() as connection:
            return await tenant_policy.store_tenant_limits(connection, tenant_id, limits)

    async def storage_usage(self, tenant_id: TenantId) -> StorageUsage:
        async with self._reading() as connection:
            return await tenant_policy.storage_of(connection, tenant_id)

    async def retire_api_key(
        self, tenant_id: TenantId, key_id: str, *, replaced_by: str, expires_at: datetime
    ) -> bool:
        async with self._writing() as connection:
            return await tenant_policy.retire_key(
                connection, tenant_id, key_id, replaced_by, expires_at
            )

    async def find_document_by_external_id(
        self, tenant_id: TenantId, external_id: str
    ) -> DocumentRecord | None:
        return await self._live_document(tenant_id, documents.c.external_id == external_id)

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
        for attempt in range(2):
            try:
                async with self._writing() as connection:
                    await self._require_tenant(connection, tenant_id)
                    return await idempotency.claim(
                        connection,
                        tenant_id,
                        key,
                        fingerprint,
                        now=now,
                        lease_s=lease_s,
                        ttl_s=ttl_s,
                    )
            except IntegrityError:
                if attempt:
                    raise
        raise AssertionError("unreachable")

    async def complete_idempotency_key(
        self, tenant_id: TenantId, key: str, response: StoredResponse
    ) -> None:
        async with self._writing() as connection:
            await idempotency.complete(connection, tenant_id, key, response)

    async def release_idempotency_key(self, tenant_id: TenantId, key: str) -> None:
        async with self._writing() as connection:
            await idempotency.release(connection, tenant_id, key)

    async def purge_idempotency_keys(self, *, before: datetime) -> int:
        async with self._writing() as connection:
            return await idempotency.purge(connection, before)

    # keys

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
        async with self._writing() as connection:
            await self._require_tenant(connection, tenant_id)
            row = await _one(
                connection,
                insert(api_keys)
                .values(
                    id=new_id("key"),
                    tenant_id=tenant_id,
                    name=name,
                    prefix=prefix,
                    key_hash=key_hash,
                    scopes=scopes_column(scopes),
                    created_at=_now(),
                    expires_at=None if expires_at is None else utc(expires_at),
                )
                .returning(api_keys),
            )
        return api_key_record(row)

    async def find_api_key(self, key_hash: str) -> ApiKeyRecord | None:
        """Look a key up by its hash; revoked and expired keys too (the caller judges them)."""
        async with self._reading() as connection:
            row = await _first(connection, select(api_keys).where(api_keys.c.key_hash == key_hash))
        return None if row is None else api_key_record(row)

    async def list_api_keys(self, tenant_id: TenantId) -> list[ApiKeyRecord]:
        async with self._reading() as connection:
            rows = (
                await connection.execute(
                    select(api_keys)
                    .where(api_keys.c.tenant_id == tenant_id)
                    .order_by(api_keys.c.created_at, api_keys.c.id)
                )
            ).mappings()
            return [api_key_record(row) for row in rows]

    async def revoke_api_key(self, tenant_id: TenantId, key_id: str) -> bool:
        """``True`` when the tenant has this key; revoking twice keeps the first revocation time."""
        async with self._writing() as connection:
            await connection.execute(
                update(api_keys)
                .where(
                    api_keys.c.tenant_id == tenant_id,
                    api_keys.c.id == key_id,
                    api_keys.c.revoked_at.is_(None),
                )
                .values(revoked_at=_now())
            )
            found = (
                await connection.execute(
                    select(api_keys.c.id).where(
                        api_keys.c.tenant_id == tenant_id, api_keys.c.id == key_id
                    )
                )
            ).first()
        return found is not None

    async def touch_api_key(self, key_id: str, when: datetime) -> None:
        """Record a use; concurrent requests may finish out of order, so it never moves back."""
        moment = utc(when)
        async with self._writing() as connection:
            await connection.execute(
                update(api_keys)
                .where(
                    api_keys.c.id == key_id,
                    or_(api_keys.c.last_used_at.is_(None), api_keys.c.last_used_at < moment),
                )
                .values(last_used_at=moment)
            )

    # documents

    async def submit_document(
        self,
        tenant_id: TenantId,
        draft: DocumentDraft,
        content: bytes,
        *,
        trace: TraceContext | None = None,
    ) -> Submission:
        """Record a new document (or a new version under the same external id) and its job.

        Identical content under the same external id is not re-indexed: the existing document
        and its latest job come back with ``created=False``.
        """
        attempt = 0
        while True:
            try:
                async with self._writing() as connection:
                    return await self._submit(connection, tenant_id, draft, content, trace)
            except IntegrityError as exc:
                if draft.external_id is None:
                    raise
                # Another submit created this external id between our lookup and our insert.
                attempt += 1
                if attempt >= _SUBMIT_ATTEMPTS:
                    raise Conflict("The document changed concurrently; submit it again.") from exc

    async def _submit(
        self,
        connection: AsyncConnection,
        tenant_id: TenantId,
        draft: DocumentDraft,
        content: bytes,
        trace: TraceContext | None,
    ) -> Submission:
        await self._require_tenant(connection, tenant_id)
        now = _now()
        fields = {
            "title": draft.title,
            "source_name": draft.source_name,
            "content_type": draft.content_type,
            "content_hash": draft.content_hash,
            "size_bytes": draft.size_bytes,
            "metadata": draft.metadata,
            "status": JobStatus.QUEUED.value,
            "chunk_count": None,
            "updated_at": now,
        }
        existing = None
        if draft.external_id is not None:
            existing = await _first(
                connection,
                select(documents)
                .where(
                    documents.c.tenant_id == tenant_id,
                    documents.c.external_id == draft.external_id,
                )
                .with_for_update(),
            )
        if existing is None:
            document = await _one(
                connection,
                insert(documents)
                .values(
                    id=new_id("doc"),
                    tenant_id=tenant_id,
                    external_id=draft.external_id,
                    version=1,
                    created_at=now,
                    **fields,
                )
                .returning(documents),
            )
        elif existing["content_hash"] == draft.content_hash:
            latest_job = await _one(
                connection,
                select(jobs)
                .where(jobs.c.document_id == existing["id"])
                .order_by(jobs.c.version.desc())
                .limit(1),
            )
            if latest_job["status"] != JobStatus.FAILED.value:
                return Submission(
                    document=document_record(existing), job=job_record(latest_job), created=False
                )
            # The same content failed before: uploading it again is a request to try again,
            # as a new version (a job per version), not a duplicate to ignore.
            document = await _one(
                connection,
                update(documents)
                .where(documents.c.id == existing["id"])
                .values(version=existing["version"] + 1, **fields)
                .returning(documents),
            )
        else:
            document = await _one(
                connection,
                update(documents)
                .where(documents.c.id == existing["id"])
                .values(version=existing["version"] + 1, **fields)
                .returning(documents),
            )
        await connection.execute(
            insert(document_blobs).values(
                document_id=document["id"],
                version=document["version"],
                tenant_id=tenant_id,
                content=content,
                created_at=now,
            )
        )
        job = await _one(
            connection,
            insert(jobs)
            .values(
                id=new_id("job"),
                tenant_id=tenant_id,
                document_id=document["id"],
                version=document["version"],
                status=JobStatus.QUEUED.value,
                reason=None,
                chunk_count=None,
                published=False,
                created_at=now,
                updated_at=now,
                traceparent=trace.traceparent if trace else None,
                tracestate=trace.tracestate if trace else None,
            )
            .returning(jobs),
        )
        return Submission(document=document_record(document), job=job_record(job), created=True)

    async def get_document(self, tenant_id: TenantId, document_id: str) -> DocumentRecord | None:
        return await self._live_document(tenant_id, documents.c.id == document_id)

    async def _live_document(
        self, tenant_id: TenantId, identified_by: ColumnElement[bool]
    ) -> DocumentRecord | None:
        """The tenant's document matching ``identified_by``, unless it was deleted."""
        async with self._reading() as connection:
            row = await _first(
                connection,
                select(documents).where(
                    documents.c.tenant_id == tenant_id,
                    identified_by,
                    documents.c.deleted_at.is_(None),
                ),
            )
        return None if row is None else document_record(row)

    async def list_documents(
        self, tenant_id: TenantId, *, limit: int, offset: int
    ) -> list[DocumentRecord]:
        """Newest first, so the first page shows what was just uploaded."""
        async with self._reading() as connection:
            rows = (
                await connection.execute(
                    select(documents)
                    .where(documents.c.tenant_id == tenant_id, documents.c.deleted_at.is_(None))
                    .order_by(documents.c.created_at.desc(), documents.c.id.desc())
                    .limit(limit)
                    .offset(offset)
                )
            ).mappings()
            return [document_record(row) for row in rows]

    async def get_document_content(
        self, tenant_id: TenantId, document_id: str, version: int
    ) -> bytes | None:
        async with self._reading() as connection:
            content: bytes | None = (
                await connection.execute(
                    select(document_blobs.c.content).where(
                        document_blobs.c.tenant_id == tenant_id,
                        document_blobs.c.document_id == document_id,
                        document_blobs.c.version == version,
                    )
                )
            ).scalar_one_or_none()
        return content

    # jobs

    async def get_job(self, tenant_id: TenantId, job_id: str) -> JobRecord | None:
        async with self._reading() as connection:
            row = await _first(
                connection, select(jobs).where(jobs.c.tenant_id == tenant_id, jobs.c.id == job_id)
            )
        return None if row is None else job_record(row)

    async def list_jobs(self, tenant_id: TenantId, document_id: str) -> list[JobRecord]:
        """Every job of one document, oldest version first."""
        async with self._reading() as connection:
            rows = (
                await connection.execute(
                    select(jobs)
                    .where(jobs.c.tenant_id == tenant_id, jobs.c.document_id == document_id)
                    .order_by(jobs.c.version)
                )
            ).mappings()
            return [job_record(row) for row in rows]

    async def reopen_job(self, tenant_id: TenantId, job_id: str) -> bool:
        """The one transition out of ``failed``: an operator sends the job back to the worker."""
        async with self._writing() as connection:
            job = await _first(
                connection,
                select(jobs)
                .where(
                    jobs.c.tenant_id == tenant_id,
                    jobs.c.id == job_id,
                    jobs.c.status == JobStatus.FAILED.value,
                )
                .with_for_update(),
            )
            if job is None:
                return False
            now = _now()
            await connection.execute(
                update(jobs)
                .where(jobs.c.id == job_id)
                .values(status=JobStatus.QUEUED.value, reason=None, published=True, updated_at=now)
            )
            await connection.execute(
                update(documents)
                .where(
                    documents.c.tenant_id == tenant_id,
                    documents.c.id == job["document_id"],
                    documents.c.version == job["version"],
                    documents.c.deleted_at.is_(None),
                )
                .values(status=JobStatus.QUEUED.value, updated_at=now)
            )
        return True

    async def count_unfinished_jobs(self) -> int:
        async with self._reading() as connection:
            count: int = (
                await connection.execute(
                    select(func.count()).select_from(jobs).where(jobs.c.status.in_(_UNFINISHED))
                )
            ).scalar_one()
        return count

    async def count_tenant_unfinished_jobs(self, tenant_id: TenantId) -> int:
        async with self._reading() as connection:
            count: int = (
                await connection.execute(
                    select(func.count())
                    .select_from(jobs)
                    .where(jobs.c.tenant_id == tenant_id, jobs.c.status.in_(_UNFINISHED))
                )
            ).scalar_one()
        return count

    async def count_in_flight(self, tenant_id: TenantId) -> int:
        async with self._reading() as connection:
            count: int = (
                await connection.execute(
                    select(func.count())
                    .select_from(jobs)
                    .where(
                        jobs.c.tenant_id == tenant_id,
                        jobs.c.status.in_(_UNFINISHED),
                        jobs.c.published.is_(True),
                    )
                )
            ).scalar_one()
        return count

    async def next_unpublished(self, tenant_id: TenantId, *, limit: int) -> list[JobRecord]:
        async with self._reading() as connection:
            rows = (
                await connection.execute(
                    select(jobs)
                    .where(
                        jobs.c.tenant_id == tenant_id,
                        jobs.c.status.in_(_UNFINISHED),
                        jobs.c.published.is_(False),
                    )
                    .order_by(jobs.c.created_at, jobs.c.id)
                    .limit(limit)
                )
            ).mappings()
            return [job_record(row) for row in rows]

    async def tenants_with_unpublished(self, *, limit: int) -> list[TenantId]:
        async with self._reading() as connection:
            rows = await connection.execute(
                select(jobs.c.tenant_id)
                .where(jobs.c.status.in_(_UNFINISHED), jobs.c.published.is_(False))
                .group_by(jobs.c.tenant_id)
                .order_by(func.min(jobs.c.created_at))
                .limit(limit)
            )
            return [TenantId(row.tenant_id) for row in rows]

    async def reset_publication(self) -> int:
        async with self._writing() as connection:
            result = await connection.execute(
                update(jobs)
                .where(jobs.c.status.in_(_UNFINISHED), jobs.c.published.is_(True))
                .values(published=False)
            )
        return int(result.rowcount or 0)

    async def mark_job_published(self, tenant_id: TenantId, job_id: str) -> None:
        async with self._writing() as connection:
            await connection.execute(
                update(jobs)
                .where(jobs.c.tenant_id == tenant_id, jobs.c.id == job_id)
                .values(published=True)
            )

    async def unfinished_jobs(
        self, *, published: bool | None, limit: int, offset: int = 0
    ) -> Sequence[JobRecord]:
        """Jobs not yet indexed or failed, oldest first, across tenants (crash recovery)."""
        query = select(jobs).where(jobs.c.status.in_(_UNFINISHED))
        if published is not None:
            query = query.where(jobs.c.published.is_(published))
        async with self._reading() as connection:
            rows = (
                await connection.execute(
                    query.order_by(jobs.c.created_at, jobs.c.id).limit(limit).offset(offset)
                )
            ).mappings()
            return [job_record(row) for row in rows]

    async def apply_job_status(
        self,
        tenant_id: TenantId,
        job_id: str,
        status: JobStatus,
        *,
        chunk_count: int | None,
        reason: str | None,
    ) -> bool:
        """Move a job forward; stale, repeated or backward transitions are ignored (``False``)."""
        update = JobStatusUpdate(tenant_id, job_id, status, chunk_count, reason)
        return (await self.apply_job_statuses([update]))[0]

    async def apply_job_statuses(self, updates: Sequence[JobStatusUpdate]) -> list[bool]:
        if not updates:
            return []
        async with self._writing() as connection:
            return await job_status.apply_statuses(connection, updates, _now())

    async def delete_document(self, tenant_id: TenantId, document_id: str) -> bool:
        async with self._writing() as connection:
            found = (
                await connection.execute(
                    select(documents.c.id)
                    .where(
                        documents.c.tenant_id == tenant_id,
                        documents.c.id == document_id,
                        documents.c.deleted_at.is_(None),
                    )
                    .with_for_update()
                )
            ).first()
            if found is None:
                return False
            now = _now()
            await connection.execute(
                update(documents)
                .where(documents.c.id == document_id)
                .values(
                    deleted_at=now,
                    external_id=None,
                    indexed_version=None,
                    updated_at=now,
                    erasure_pending=True,
                )
            )
            await connection.execute(
                delete(document_blobs).where(
                    document_blobs.c.tenant_id == tenant_id,
                    document_blobs.c.document_id == document_id,
                )
            )
            await connection.execute(
                update(jobs)
                .where(
                    jobs.c.tenant_id == tenant_id,
                    jobs.c.document_id == document_id,
                    jobs.c.status.in_(_UNFINISHED),
                )
                .values(
                    status=JobStatus.FAILED.value, reason="the document was deleted", updated_at=now
                )
            )
        return True

    async def mark_erasure_requested(self, tenant_id: TenantId, document_id: str) -> None:
        async with self._writing() as connection:
            await connection.execute(
                update(documents)
                .where(
                    documents.c.tenant_id == tenant_id,
                    documents.c.id == document_id,
                    documents.c.erasure_pending.is_(True),
                )
                .values(erasure_pending=False)
            )

    async def documents_pending_erasure(self, *, limit: int) -> list[tuple[TenantId, str]]:
        async with self._reading() as connection:
            rows = await connection.execute(
                select(documents.c.tenant_id, documents.c.id)
                .where(documents.c.erasure_pending.is_(True))
                .order_by(documents.c.deleted_at, documents.c.id)
                .limit(limit)
            )
            return [(TenantId(row.tenant_id), str(row.id)) for row in rows]

    async def active_versions(
        self, tenant_id: TenantId, document_ids: Sequence[str]
    ) -> dict[str, int]:
        if not document_ids:
            return {}
        if self._sqlite_versions is not None:
            # On every search's path: see sqlite_versions for why this bypasses the engine.
            return self._sqlite_versions.active_versions(tenant_id, document_ids)
        async with self._reading() as connection:
            rows = await connection.execute(
                select(documents.c.id, documents.c.indexed_version).where(
                    documents.c.tenant_id == tenant_id,
                    documents.c.id.in_(set(document_ids)),
                    documents.c.deleted_at.is_(None),
                    documents.c.indexed_version.is_not(None),
                )
            )
            return {row.id: row.indexed_version for row in rows}
