"""Behaviour of :class:`SqlCatalog` between tenants: no getter returns another tenant's rows, and
erasing a tenant removes its rows and nothing else. The same suite on SQLite and on PostgreSQL
(the ``catalog`` fixture of this folder's ``conftest.py``).
"""

from __future__ import annotations

from catalog_harness import ALL_SCOPES, new_tenant, submit
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from ragline_common.tenancy import TenantId
from ragline_gateway.adapters.catalog import SqlCatalog
from ragline_gateway.adapters.catalog.tables import (
    api_keys,
    document_blobs,
    documents,
    jobs,
    tenants,
)

# isolation and erasure


async def test_no_getter_returns_another_tenants_rows(catalog: SqlCatalog) -> None:
    owner = await new_tenant(catalog, "owner")
    stranger = await new_tenant(catalog, "stranger")
    await catalog.create_api_key(
        owner, name="k", prefix="rl_k", key_hash="1" * 64, scopes=ALL_SCOPES, expires_at=None
    )
    submission = await submit(catalog, owner, b"secret", external_id="guide")
    document_id, job_id = submission.document.id, submission.job.id

    assert await catalog.get_document(stranger, document_id) is None
    assert await catalog.get_job(stranger, job_id) is None
    assert await catalog.get_document_content(stranger, document_id, 1) is None
    assert await catalog.list_documents(stranger, limit=10, offset=0) == []
    assert await catalog.list_api_keys(stranger) == []
    assert await catalog.list_jobs(stranger, document_id) == []
    # The owner still sees everything, so the empty answers above are not a broken query.
    assert await catalog.get_document(owner, document_id) == submission.document
    assert await catalog.list_jobs(owner, document_id) == [submission.job]
    assert len(await catalog.list_api_keys(owner)) == 1


async def _rows_per_table(database_url: str, tenant_id: TenantId) -> dict[str, int]:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            counts: dict[str, int] = {}
            for table in (api_keys, documents, document_blobs, jobs):
                counts[table.name] = (
                    await connection.execute(
                        select(func.count())
                        .select_from(table)
                        .where(table.c.tenant_id == tenant_id)
                    )
                ).scalar_one()
            counts["tenants"] = (
                await connection.execute(
                    select(func.count()).select_from(tenants).where(tenants.c.id == tenant_id)
                )
            ).scalar_one()
        return counts
    finally:
        await engine.dispose()


async def test_delete_tenant_erases_its_rows_and_nothing_else(
    catalog: SqlCatalog, database_url: str
) -> None:
    doomed = await new_tenant(catalog, "doomed")
    kept = await new_tenant(catalog, "kept")
    for tenant_id, prefix in ((doomed, "2"), (kept, "3")):
        await catalog.create_api_key(
            tenant_id,
            name="k",
            prefix="rl_k",
            key_hash=prefix * 64,
            scopes=ALL_SCOPES,
            expires_at=None,
        )
        await submit(catalog, tenant_id, b"v1", external_id="guide")
        await submit(catalog, tenant_id, b"v2", external_id="guide")
        await submit(catalog, tenant_id, b"loose")
    kept_before = await _rows_per_table(database_url, kept)

    assert await catalog.delete_tenant(doomed) is True

    assert await _rows_per_table(database_url, doomed) == dict.fromkeys(kept_before, 0)
    assert await _rows_per_table(database_url, kept) == kept_before
    assert kept_before == {
        "api_keys": 1,
        "documents": 2,
        "document_blobs": 3,
        "jobs": 3,
        "tenants": 1,
    }
    assert await catalog.find_api_key("2" * 64) is None
    assert await catalog.get_tenant(doomed) is None
    assert await catalog.delete_tenant(doomed) is False
