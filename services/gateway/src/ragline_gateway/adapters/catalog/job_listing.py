"""The tenant's jobs as a browsable list (``GET /v1/jobs``), on the catalog database."""

from __future__ import annotations

from sqlalchemy import select

from ragline_common.messages import JobStatus
from ragline_common.tenancy import TenantId
from ragline_gateway.adapters.catalog.connections import Connections
from ragline_gateway.adapters.catalog.rows import job_record
from ragline_gateway.adapters.catalog.tables import jobs
from ragline_gateway.ports.catalog import JobRecord


class SqlJobListing:
    """:class:`~ragline_gateway.ports.catalog.JobListing` on the catalog database.

    Built per call (unlike the hot lookups' prebuilt statements): the filters vary, and a
    person paging a table calls it a few times a minute, not per upload.
    """

    def __init__(self, connections: Connections) -> None:
        self._connections = connections

    async def find_jobs(
        self,
        tenant_id: TenantId,
        *,
        status: JobStatus | None,
        document_id: str | None,
        limit: int,
        offset: int,
    ) -> list[JobRecord]:
        statement = select(jobs).where(jobs.c.tenant_id == tenant_id)
        if status is not None:
            statement = statement.where(jobs.c.status == status.value)
        if document_id is not None:
            statement = statement.where(jobs.c.document_id == document_id)
        # The id breaks ties of jobs created in the same instant, so pages never overlap.
        statement = (
            statement.order_by(jobs.c.created_at.desc(), jobs.c.id.desc())
            .limit(limit)
            .offset(offset)
        )
        async with self._connections.reading() as connection:
            rows = (await connection.execute(statement)).mappings()
            return [job_record(row) for row in rows]
