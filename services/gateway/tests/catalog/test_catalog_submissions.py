"""Behaviour of :class:`SqlCatalog` on submissions: new documents, identical resubmissions, new
versions under an external id, listing and blobs. The same suite on SQLite and on PostgreSQL (the
``catalog`` fixture of this folder's ``conftest.py``).
"""

from __future__ import annotations

import asyncio

import pytest
from catalog_harness import draft, new_tenant, submit

from ragline_common.errors import NotFound
from ragline_common.messages import JobStatus
from ragline_common.tenancy import TenantId
from ragline_gateway.adapters.catalog import SqlCatalog

# submissions


async def test_first_submission_creates_document_job_and_blob(catalog: SqlCatalog) -> None:
    tenant_id = await new_tenant(catalog)
    submission = await submit(catalog, tenant_id, b"hello world", external_id="guide")

    document, job = submission.document, submission.job
    assert submission.created is True
    assert document.id.startswith("doc_")
    assert job.id.startswith("job_")
    assert document.tenant_id == tenant_id == job.tenant_id
    assert document.external_id == "guide"
    assert document.version == job.version == 1
    assert document.metadata == {"lang": "en", "tags": ["a", "b"], "nested": {"n": 1}}
    assert document.size_bytes == len(b"hello world")
    assert document.status is JobStatus.QUEUED
    assert document.chunk_count is None
    assert job.document_id == document.id
    assert job.status is JobStatus.QUEUED
    assert job.published is False
    assert (job.reason, job.chunk_count) == (None, None)
    assert await catalog.get_document(tenant_id, document.id) == document
    assert await catalog.get_job(tenant_id, job.id) == job
    assert await catalog.get_document_content(tenant_id, document.id, 1) == b"hello world"


async def test_identical_resubmission_returns_the_existing_document_and_job(
    catalog: SqlCatalog,
) -> None:
    tenant_id = await new_tenant(catalog)
    first = await submit(catalog, tenant_id, b"same", external_id="guide")
    await catalog.mark_jobs_published(tenant_id, [first.job.id])

    repeat = await submit(catalog, tenant_id, b"same", external_id="guide")

    assert repeat.created is False
    assert repeat.document == first.document
    assert repeat.job.id == first.job.id
    assert repeat.job.published is True
    assert await catalog.list_jobs(tenant_id, first.document.id) == [repeat.job]


async def test_changed_content_under_an_external_id_is_a_new_version(catalog: SqlCatalog) -> None:
    tenant_id = await new_tenant(catalog)
    first = await submit(catalog, tenant_id, b"v1", external_id="guide")
    await catalog.apply_job_status(
        tenant_id, first.job.id, JobStatus.INDEXED, chunk_count=3, reason=None
    )
    changed = draft(b"version two", external_id="guide", title="Guide 2")

    second = await catalog.submit_document(tenant_id, changed, b"version two")

    assert second.created is True
    assert second.document.id == first.document.id
    assert second.document.version == second.job.version == 2
    assert second.job.id != first.job.id
    assert second.document.title == "Guide 2"
    assert second.document.content_hash == changed.content_hash
    assert second.document.size_bytes == len(b"version two")
    assert second.document.status is JobStatus.QUEUED
    assert second.document.chunk_count is None
    assert second.document.created_at == first.document.created_at
    assert second.document.updated_at > first.document.updated_at
    assert await catalog.get_document_content(tenant_id, first.document.id, 1) == b"v1"
    assert await catalog.get_document_content(tenant_id, first.document.id, 2) == b"version two"
    history = await catalog.list_jobs(tenant_id, first.document.id)
    assert [(job.version, job.status) for job in history] == [
        (1, JobStatus.INDEXED),
        (2, JobStatus.QUEUED),
    ]


async def test_without_external_id_every_submission_is_a_new_document(
    catalog: SqlCatalog,
) -> None:
    tenant_id = await new_tenant(catalog)
    first = await submit(catalog, tenant_id, b"same")
    second = await submit(catalog, tenant_id, b"same")

    assert first.created is second.created is True
    assert first.document.id != second.document.id
    assert first.document.external_id is None
    assert second.document.version == 1


async def test_the_same_external_id_in_two_tenants_is_two_documents(catalog: SqlCatalog) -> None:
    acme = await new_tenant(catalog, "acme")
    globex = await new_tenant(catalog, "globex")
    a = await submit(catalog, acme, b"same", external_id="guide")
    b = await submit(catalog, globex, b"same", external_id="guide")

    assert b.created is True
    assert a.document.id != b.document.id


async def test_submission_for_a_missing_tenant_is_refused(catalog: SqlCatalog) -> None:
    with pytest.raises(NotFound):
        await submit(catalog, TenantId("ten_missing"), b"x", external_id="guide")


async def test_concurrent_submits_bump_the_version_once_per_distinct_content(
    catalog: SqlCatalog,
) -> None:
    tenant_id = await new_tenant(catalog)

    for content, expected_version in ((b"alpha", 1), (b"beta", 2)):
        results = await asyncio.gather(
            *(submit(catalog, tenant_id, content, external_id="race") for _ in range(8))
        )
        created = [result for result in results if result.created]
        assert len(created) == 1
        assert {result.document.id for result in results} == {created[0].document.id}
        assert {result.job.id for result in results} == {created[0].job.id}
        assert {result.document.version for result in results} == {expected_version}

    listed = await catalog.list_documents(tenant_id, limit=10, offset=0)
    assert [document.version for document in listed] == [2]
    assert [job.version for job in await catalog.list_jobs(tenant_id, listed[0].id)] == [1, 2]


async def test_documents_are_listed_newest_first_with_paging(catalog: SqlCatalog) -> None:
    tenant_id = await new_tenant(catalog)
    ids = [(await submit(catalog, tenant_id, f"doc {n}".encode())).document.id for n in range(5)]

    first_page = await catalog.list_documents(tenant_id, limit=2, offset=0)
    rest = await catalog.list_documents(tenant_id, limit=10, offset=2)

    assert [document.id for document in first_page + rest] == ids[::-1]


async def test_blobs_round_trip_exactly(catalog: SqlCatalog) -> None:
    tenant_id = await new_tenant(catalog)
    content = bytes(range(256)) * 4096  # every byte value, 1 MiB
    submission = await submit(catalog, tenant_id, content)

    stored = await catalog.get_document_content(tenant_id, submission.document.id, 1)

    assert stored == content
    assert await catalog.get_document_content(tenant_id, submission.document.id, 2) is None
