"""Behaviour of :class:`SqlCatalog` on the version searches see, on deleting a document and on
reopening failed jobs. The same suite on SQLite and on PostgreSQL (the ``catalog`` fixture of
this folder's ``conftest.py``).
"""

from __future__ import annotations

from catalog_harness import new_tenant, submit

from ragline_common.messages import JobStatus
from ragline_gateway.adapters.catalog import SqlCatalog

# visible versions and deletion


async def test_indexed_version_flips_forward_only_when_a_version_is_indexed(
    catalog: SqlCatalog,
) -> None:
    tenant = await new_tenant(catalog)
    first = await submit(catalog, tenant, b"v1", external_id="doc")
    assert first.document.indexed_version is None
    assert await catalog.active_versions(tenant, [first.document.id]) == {}
    await catalog.apply_job_status(
        tenant, first.job.id, JobStatus.INDEXED, chunk_count=1, reason=None
    )
    assert await catalog.active_versions(tenant, [first.document.id]) == {first.document.id: 1}

    second = await submit(catalog, tenant, b"v2", external_id="doc")
    await catalog.apply_job_status(
        tenant, second.job.id, JobStatus.PROCESSING, chunk_count=None, reason=None
    )
    # While version 2 is being indexed, searches keep showing version 1.
    assert await catalog.active_versions(tenant, [first.document.id]) == {first.document.id: 1}
    await catalog.apply_job_status(
        tenant, second.job.id, JobStatus.INDEXED, chunk_count=2, reason=None
    )
    assert await catalog.active_versions(tenant, [first.document.id]) == {first.document.id: 2}
    document = await catalog.get_document(tenant, first.document.id)
    assert document is not None
    assert document.indexed_version == 2
    other = await new_tenant(catalog, "other")
    assert await catalog.active_versions(other, [first.document.id]) == {}


async def test_a_failed_new_version_keeps_the_old_one_visible(catalog: SqlCatalog) -> None:
    tenant = await new_tenant(catalog)
    first = await submit(catalog, tenant, b"v1", external_id="doc")
    await catalog.apply_job_status(
        tenant, first.job.id, JobStatus.INDEXED, chunk_count=1, reason=None
    )
    second = await submit(catalog, tenant, b"v2", external_id="doc")
    await catalog.apply_job_status(
        tenant, second.job.id, JobStatus.FAILED, chunk_count=None, reason="bad"
    )
    assert await catalog.active_versions(tenant, [first.document.id]) == {first.document.id: 1}


async def test_deleting_a_document_tombstones_it(catalog: SqlCatalog) -> None:
    tenant = await new_tenant(catalog)
    other = await new_tenant(catalog, "other")
    kept = await submit(catalog, tenant, b"keep")
    gone = await submit(catalog, tenant, b"gone", external_id="ext")
    assert not await catalog.delete_document(other, gone.document.id)
    assert await catalog.delete_document(tenant, gone.document.id)
    assert not await catalog.delete_document(tenant, gone.document.id)
    assert await catalog.get_document(tenant, gone.document.id) is None
    listed = await catalog.list_documents(tenant, limit=10, offset=0)
    assert [doc.id for doc in listed] == [kept.document.id]
    assert await catalog.get_document_content(tenant, gone.document.id, 1) is None
    job = await catalog.get_job(tenant, gone.job.id)
    assert job is not None
    assert job.status is JobStatus.FAILED
    assert job.reason == "the document was deleted"
    # A late "indexed" event does not make it visible again.
    await catalog.apply_job_status(
        tenant, gone.job.id, JobStatus.INDEXED, chunk_count=1, reason=None
    )
    assert await catalog.active_versions(tenant, [gone.document.id]) == {}
    # The external id is free for a new document.
    again = await submit(catalog, tenant, b"gone", external_id="ext")
    assert again.created
    assert again.document.id != gone.document.id


async def test_resubmitting_content_whose_job_failed_tries_again(catalog: SqlCatalog) -> None:
    tenant = await new_tenant(catalog)
    first = await submit(catalog, tenant, b"same", external_id="doc")
    await catalog.apply_job_status(
        tenant, first.job.id, JobStatus.FAILED, chunk_count=None, reason="x"
    )
    again = await submit(catalog, tenant, b"same", external_id="doc")
    assert again.created
    assert again.job.version == 2
    assert again.job.status is JobStatus.QUEUED
    assert await catalog.get_document_content(tenant, first.document.id, 2) == b"same"
    repeat = await submit(catalog, tenant, b"same", external_id="doc")
    assert not repeat.created
    assert repeat.job.id == again.job.id


async def test_only_failed_jobs_of_the_tenant_can_be_reopened(catalog: SqlCatalog) -> None:
    tenant = await new_tenant(catalog)
    other = await new_tenant(catalog, "other")
    submission = await submit(catalog, tenant, b"x")
    assert not await catalog.reopen_job(tenant, submission.job.id)  # not failed
    await catalog.apply_job_status(
        tenant, submission.job.id, JobStatus.FAILED, chunk_count=None, reason="r"
    )
    assert not await catalog.reopen_job(other, submission.job.id)
    assert await catalog.reopen_job(tenant, submission.job.id)
    job = await catalog.get_job(tenant, submission.job.id)
    assert job is not None
    assert job.status is JobStatus.QUEUED
    assert job.reason is None
    assert job.published
    assert await catalog.count_in_flight(tenant) == 1
    document = await catalog.get_document(tenant, submission.document.id)
    assert document is not None
    assert document.status is JobStatus.QUEUED
