"""PostgreSQL's one-statement submit (``record_new_document``): a new document, its content and
its job in one autocommit statement, and nothing at all when the transactional path must decide.
The behaviour every upload shows is in ``test_catalog_submissions`` (both backends).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from catalog_harness import draft, new_tenant
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from ragline_common.messages import JobStatus
from ragline_common.tenancy import TenantId
from ragline_gateway.adapters.catalog import SqlCatalog
from ragline_gateway.adapters.catalog.submissions import record_new_document
from ragline_gateway.adapters.catalog.tables import document_blobs, documents, jobs
from ragline_gateway.ports.catalog import TraceContext

TRACE = TraceContext("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "k=v")


@pytest.fixture
async def autocommit(
    catalog: SqlCatalog, backend: str, database_url: str
) -> AsyncIterator[AsyncEngine]:
    if backend != "postgresql":
        pytest.skip("the one-statement submit is PostgreSQL's")
    engine = create_async_engine(database_url, isolation_level="AUTOCOMMIT")
    yield engine
    await engine.dispose()


async def _rows(engine: AsyncEngine) -> tuple[int, int, int]:
    async with engine.connect() as connection:
        counts = [
            (await connection.execute(select(func.count()).select_from(table))).scalar_one()
            for table in (documents, document_blobs, jobs)
        ]
    return counts[0], counts[1], counts[2]


async def test_a_new_document_its_content_and_job_in_one_statement(
    catalog: SqlCatalog, autocommit: AsyncEngine
) -> None:
    tenant_id = await new_tenant(catalog)
    async with autocommit.connect() as connection:
        made = await record_new_document(
            connection, tenant_id, draft(b"hello", external_id="guide"), b"hello", TRACE
        )

    assert made is not None and made.created
    assert await catalog.get_document(tenant_id, made.document.id) == made.document
    assert await catalog.get_job(tenant_id, made.job.id) == made.job
    assert made.job.trace == TRACE and made.job.status is JobStatus.QUEUED
    content = await catalog.get_document_content(tenant_id, made.document.id, 1)
    assert content == b"hello"


async def test_a_taken_external_id_or_a_missing_tenant_writes_nothing(
    catalog: SqlCatalog, autocommit: AsyncEngine
) -> None:
    tenant_id = await new_tenant(catalog)
    async with autocommit.connect() as connection:
        first = await record_new_document(
            connection, tenant_id, draft(b"one", external_id="guide"), b"one", None
        )
        before = await _rows(autocommit)
        taken = await record_new_document(
            connection, tenant_id, draft(b"two", external_id="guide"), b"two", None
        )
        missing = await record_new_document(
            connection, TenantId("ten_missing"), draft(b"three"), b"three", None
        )

    assert first is not None
    assert (taken, missing) == (None, None)
    assert await _rows(autocommit) == before == (1, 1, 1)
    # The transactional path then decides: here a new version under the taken id.
    again = await catalog.submit_document(tenant_id, draft(b"two", external_id="guide"), b"two")
    assert (again.created, again.document.version) == (True, 2)
