"""Behaviour of :meth:`SqlCatalog.find_jobs` (``GET /v1/jobs``): newest first, filtered, paged
and never another tenant's, on SQLite and on PostgreSQL."""

from __future__ import annotations

from catalog_harness import new_tenant, submit

from ragline_common.messages import JobStatus
from ragline_common.tenancy import TenantId
from ragline_gateway.adapters.catalog import SqlCatalog


async def _ids(
    catalog: SqlCatalog,
    tenant_id: TenantId,
    *,
    status: JobStatus | None = None,
    document_id: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[str]:
    jobs = await catalog.find_jobs(
        tenant_id, status=status, document_id=document_id, limit=limit, offset=offset
    )
    return [job.id for job in jobs]


async def test_jobs_are_listed_newest_first_filtered_and_paged(catalog: SqlCatalog) -> None:
    tenant_id = await new_tenant(catalog)
    guide_v1 = await submit(catalog, tenant_id, b"one", external_id="guide")
    guide_v2 = await submit(catalog, tenant_id, b"two", external_id="guide")
    notes = await submit(catalog, tenant_id, b"notes", external_id="notes")
    assert await catalog.apply_job_status(
        tenant_id, guide_v1.job.id, JobStatus.INDEXED, chunk_count=1, reason=None
    )
    newest_first = [notes.job.id, guide_v2.job.id, guide_v1.job.id]

    assert await _ids(catalog, tenant_id) == newest_first
    assert await _ids(catalog, tenant_id, limit=2) == newest_first[:2]
    assert await _ids(catalog, tenant_id, limit=2, offset=2) == newest_first[2:]
    assert await _ids(catalog, tenant_id, status=JobStatus.INDEXED) == [guide_v1.job.id]
    assert await _ids(catalog, tenant_id, status=JobStatus.QUEUED) == newest_first[:2]
    assert await _ids(catalog, tenant_id, document_id=guide_v1.document.id) == [
        guide_v2.job.id,
        guide_v1.job.id,
    ]
    assert await _ids(
        catalog, tenant_id, status=JobStatus.QUEUED, document_id=guide_v1.document.id
    ) == [guide_v2.job.id]


async def test_another_tenants_jobs_are_never_listed(catalog: SqlCatalog) -> None:
    acme = await new_tenant(catalog, "acme")
    globex = await new_tenant(catalog, "globex")
    theirs = await submit(catalog, globex, b"secret")

    assert await _ids(catalog, acme) == []
    assert await _ids(catalog, acme, document_id=theirs.document.id) == []
    assert await _ids(catalog, globex) == [theirs.job.id]
