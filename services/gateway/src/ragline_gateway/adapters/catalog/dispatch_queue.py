"""The dispatch queue on SQL: unfinished jobs, published to the broker or waiting for their turn.

Every count and list here is over unfinished jobs (queued or processing), served by the
``(tenant_id, status)`` and ``(status, created_at)`` indexes of ``jobs``: the backlog checks run
on every upload, the dispatch window on every finished job.

The statements these hot paths run are built once, with bind parameters: building a statement
and its cache key per call cost ~150 us of gateway CPU each (measured against PostgreSQL, a
checkout and a count: 420 us rebuilt, 260 us prebuilt), a good part of what every upload and
every finished job cost the gateway.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Integer, RowMapping, Select, and_, bindparam, case, func, select, update

from ragline_common.tenancy import TenantId
from ragline_gateway.adapters.catalog.connections import UNFINISHED, Connections, single_statement
from ragline_gateway.adapters.catalog.rows import document_record, job_record
from ragline_gateway.adapters.catalog.tables import document_blobs, documents, jobs
from ragline_gateway.ports.catalog import JobRecord, UnpublishedJob

_TENANT = bindparam("q_tenant", type_=jobs.c.tenant_id.type)
_DOCUMENT_PREFIX = "d_"
INLINE_CONTENT_BYTES = 256 * 1024
"""Contents up to this size come with their jobs; a larger one is read on its own when its job
goes out, so a round of a full window holds at most 64 x 256 KiB, not 64 uploads of 10 MB."""
_WAITING = (
    select(jobs)
    .where(
        jobs.c.tenant_id == _TENANT,
        jobs.c.status.in_(UNFINISHED),
        jobs.c.published.is_(False),
    )
    .order_by(jobs.c.created_at, jobs.c.id)
    .limit(bindparam("q_limit", type_=Integer()))
    .subquery("waiting")
)
# The waiting jobs first (limited by the index on jobs), then each one's live document and its
# version's content by primary key: joined before the limit, PostgreSQL planned hash joins over
# every document and blob of the catalog. Outer joins: a job whose document was deleted
# meanwhile still comes back, without them (``length`` reads a stored value's size only).
_NEXT_UNPUBLISHED = (
    select(
        _WAITING,
        *(column.label(_DOCUMENT_PREFIX + column.name) for column in documents.c),
        case(
            (
                func.length(document_blobs.c.content) <= INLINE_CONTENT_BYTES,
                document_blobs.c.content,
            ),
            else_=None,
        ).label("sent_content"),
    )
    .select_from(
        _WAITING.outerjoin(
            documents,
            and_(
                documents.c.tenant_id == _WAITING.c.tenant_id,
                documents.c.id == _WAITING.c.document_id,
                documents.c.deleted_at.is_(None),
            ),
        ).outerjoin(
            document_blobs,
            and_(
                document_blobs.c.tenant_id == _WAITING.c.tenant_id,
                document_blobs.c.document_id == _WAITING.c.document_id,
                document_blobs.c.version == _WAITING.c.version,
            ),
        )
    )
    .order_by(_WAITING.c.created_at, _WAITING.c.id)
)
_MARK_PUBLISHED = (
    update(jobs)
    .where(jobs.c.tenant_id == _TENANT, jobs.c.id.in_(bindparam("q_jobs", expanding=True)))
    .values(published=True)
)
_UNFINISHED_COUNT = select(func.count()).select_from(jobs).where(jobs.c.status.in_(UNFINISHED))
_TENANT_UNFINISHED_COUNT = _UNFINISHED_COUNT.where(jobs.c.tenant_id == _TENANT)
_IN_FLIGHT_COUNT = _TENANT_UNFINISHED_COUNT.where(jobs.c.published.is_(True))


class SqlDispatchQueue:
    """:class:`~ragline_gateway.ports.catalog.DispatchQueue` on the catalog database."""

    def __init__(self, connections: Connections) -> None:
        self._connections = connections

    async def next_unpublished(self, tenant_id: TenantId, *, limit: int) -> list[UnpublishedJob]:
        async with self._connections.reading() as connection:
            rows = (
                await connection.execute(
                    _NEXT_UNPUBLISHED, {"q_tenant": tenant_id, "q_limit": limit}
                )
            ).mappings()
            return [_unpublished(row) for row in rows]

    async def tenants_with_unpublished(self, *, limit: int) -> list[TenantId]:
        async with self._connections.reading() as connection:
            rows = await connection.execute(
                select(jobs.c.tenant_id)
                .where(jobs.c.status.in_(UNFINISHED), jobs.c.published.is_(False))
                .group_by(jobs.c.tenant_id)
                .order_by(func.min(jobs.c.created_at))
                .limit(limit)
            )
            return [TenantId(row.tenant_id) for row in rows]

    async def mark_jobs_published(self, tenant_id: TenantId, job_ids: Sequence[str]) -> None:
        async with single_statement(self._connections) as connection:
            await connection.execute(_MARK_PUBLISHED, {"q_tenant": tenant_id, "q_jobs": job_ids})

    async def count_in_flight(self, tenant_id: TenantId) -> int:
        return await self._count(_IN_FLIGHT_COUNT, tenant_id)

    async def reset_publication(self) -> int:
        async with self._connections.writing() as connection:
            result = await connection.execute(
                update(jobs)
                .where(jobs.c.status.in_(UNFINISHED), jobs.c.published.is_(True))
                .values(published=False)
            )
        return int(result.rowcount or 0)

    async def unfinished_jobs(
        self, *, published: bool | None, limit: int, offset: int = 0
    ) -> Sequence[JobRecord]:
        """Jobs not yet indexed or failed, oldest first, across tenants (crash recovery)."""
        query = select(jobs).where(jobs.c.status.in_(UNFINISHED))
        if published is not None:
            query = query.where(jobs.c.published.is_(published))
        async with self._connections.reading() as connection:
            rows = (
                await connection.execute(
                    query.order_by(jobs.c.created_at, jobs.c.id).limit(limit).offset(offset)
                )
            ).mappings()
            return [job_record(row) for row in rows]

    async def count_unfinished_jobs(self) -> int:
        return await self._count(_UNFINISHED_COUNT)

    async def count_tenant_unfinished_jobs(self, tenant_id: TenantId) -> int:
        return await self._count(_TENANT_UNFINISHED_COUNT, tenant_id)

    async def _count(self, statement: Select[Any], tenant_id: TenantId | None = None) -> int:
        """Unfinished jobs counted by ``statement`` (of ``tenant_id``'s, if it names one)."""
        parameters = {} if tenant_id is None else {"q_tenant": tenant_id}
        async with self._connections.reading() as connection:
            count: int = (await connection.execute(statement, parameters)).scalar_one()
        return count


def _unpublished(row: RowMapping) -> UnpublishedJob:
    content = row["sent_content"]
    if row[_DOCUMENT_PREFIX + "id"] is None or content is None:
        return UnpublishedJob(job=job_record(row), sent=None)
    document = document_record(
        {column.name: row[_DOCUMENT_PREFIX + column.name] for column in documents.c}
    )
    return UnpublishedJob(job=job_record(row), sent=(document, bytes(content)))
