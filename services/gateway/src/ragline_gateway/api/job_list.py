"""``GET /v1/jobs``: the calling tenant's ingestion jobs, newest first, filtered and paged.

Tenant-scoped by construction, like every read: the tenant comes from the key, and a
``document_id`` of another tenant simply matches nothing. Any scope may list, as any scope may
read one job (``JobReaderTenant``): a job shows ids, state and counts, never content.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from ragline_common.messages import JobStatus
from ragline_gateway.api.schemas import JobOut
from ragline_gateway.deps import ContextDep, JobReaderTenant

router = APIRouter(prefix="/v1", tags=["documents"])


class JobList(BaseModel):
    jobs: list[JobOut]
    next_offset: int | None
    """Where the next page starts; ``None`` on the last page."""


@router.get("/jobs", response_model=JobList, summary="List the tenant's ingestion jobs")
async def list_jobs(
    context: ContextDep,
    tenant_id: JobReaderTenant,
    status: JobStatus | None = None,
    document_id: Annotated[
        str | None, Query(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> JobList:
    # One row more than asked says whether another page exists without a count query.
    jobs = await context.catalog.find_jobs(
        tenant_id, status=status, document_id=document_id, limit=limit + 1, offset=offset
    )
    return JobList(
        jobs=[JobOut.of(job) for job in jobs[:limit]],
        next_offset=offset + limit if len(jobs) > limit else None,
    )
