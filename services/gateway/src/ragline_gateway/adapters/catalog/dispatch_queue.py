"""The dispatch queue on SQL: unfinished jobs, published to the broker or waiting for their turn.

Every count and list here is over unfinished jobs (queued or processing), served by the
``(tenant_id, status)`` and ``(status, created_at)`` indexes of ``jobs``: the backlog checks run
on every upload, the dispatch window on every finished job.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select, update
from sqlalchemy.sql.expression import ColumnElement

from ragline_common.tenancy import TenantId
from ragline_gateway.adapters.catalog.connections import UNFINISHED, Connections, single_statement
from ragline_gateway.adapters.catalog.rows import job_record
from ragline_gateway.adapters.catalog.tables import jobs
from ragline_gateway.ports.catalog import JobRecord


class SqlDispatchQueue:
    """:class:`~ragline_gateway.ports.catalog.DispatchQueue` on the catalog database."""

    def __init__(self, connections: Connections) -> None:
        self._connections = connections

    async def next_unpublished(self, tenant_id: TenantId, *, limit: int) -> list[JobRecord]:
        async with self._connections.reading() as connection:
            rows = (
                await connection.execute(
                    select(jobs)
                    .where(
                        jobs.c.tenant_id == tenant_id,
                        jobs.c.status.in_(UNFINISHED),
                        jobs.c.published.is_(False),
                    )
                    .order_by(jobs.c.created_at, jobs.c.id)
                    .limit(limit)
                )
            ).mappings()
            return [job_record(row) for row in rows]

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

    async def mark_job_published(self, tenant_id: TenantId, job_id: str) -> None:
        async with single_statement(self._connections) as connection:
            await connection.execute(
                update(jobs)
                .where(jobs.c.tenant_id == tenant_id, jobs.c.id == job_id)
                .values(published=True)
            )

    async def count_in_flight(self, tenant_id: TenantId) -> int:
        return await self._count(jobs.c.tenant_id == tenant_id, jobs.c.published.is_(True))

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
        return await self._count()

    async def count_tenant_unfinished_jobs(self, tenant_id: TenantId) -> int:
        return await self._count(jobs.c.tenant_id == tenant_id)

    async def _count(self, *conditions: ColumnElement[bool]) -> int:
        """Unfinished jobs meeting every one of ``conditions``."""
        async with self._connections.reading() as connection:
            count: int = (
                await connection.execute(
                    select(func.count())
                    .select_from(jobs)
                    .where(jobs.c.status.in_(UNFINISHED), *conditions)
                )
            ).scalar_one()
        return count
