"""Behaviour of :class:`SqlCatalog` on job statuses: they only move forward, one at a time or in
batches, and unfinished jobs are found again for recovery. The same suite on SQLite and on
PostgreSQL (the ``catalog`` fixture of this folder's ``conftest.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from catalog_harness import new_tenant, submit

from ragline_common.messages import JobStatus
from ragline_gateway.adapters.catalog import SqlCatalog
from ragline_gateway.ports.catalog import JobRecord, JobStatusUpdate

# job status


async def test_job_status_only_moves_forward(catalog: SqlCatalog) -> None:
    tenant_id = await new_tenant(catalog)
    submission = await submit(catalog, tenant_id, b"x", external_id="guide")
    job_id, document_id = submission.job.id, submission.document.id

    async def apply(status: JobStatus, chunk_count: int | None = None) -> bool:
        return await catalog.apply_job_status(
            tenant_id, job_id, status, chunk_count=chunk_count, reason=None
        )

    assert await apply(JobStatus.QUEUED) is False
    assert await apply(JobStatus.PROCESSING) is True
    document = await catalog.get_document(tenant_id, document_id)
    assert document is not None
    assert document.status is JobStatus.PROCESSING
    assert await apply(JobStatus.PROCESSING) is False
    assert await apply(JobStatus.QUEUED) is False
    assert await apply(JobStatus.INDEXED, chunk_count=7) is True
    assert await apply(JobStatus.FAILED) is False
    assert await apply(JobStatus.PROCESSING) is False

    job = await catalog.get_job(tenant_id, job_id)
    document = await catalog.get_document(tenant_id, document_id)
    assert job is not None
    assert document is not None
    assert (job.status, job.chunk_count) == (JobStatus.INDEXED, 7)
    assert (document.status, document.chunk_count) == (JobStatus.INDEXED, 7)
    assert job.updated_at > job.created_at


async def test_a_batch_of_events_applies_in_order_in_one_call(catalog: SqlCatalog) -> None:
    tenant_id = await new_tenant(catalog)
    other = await new_tenant(catalog)
    first = await submit(catalog, tenant_id, b"one", external_id="one")
    second = await submit(catalog, tenant_id, b"two", external_id="two")
    replaced = await submit(catalog, tenant_id, b"two, edited", external_id="two")

    changed = await catalog.apply_job_statuses(
        [
            # One job's whole life in one batch: each step applies, in order.
            JobStatusUpdate(tenant_id, first.job.id, JobStatus.PROCESSING),
            JobStatusUpdate(tenant_id, first.job.id, JobStatus.INDEXED, chunk_count=3),
            JobStatusUpdate(tenant_id, first.job.id, JobStatus.PROCESSING),  # backwards
            JobStatusUpdate(other, second.job.id, JobStatus.FAILED, reason="forged"),
            JobStatusUpdate(tenant_id, "job_unknown", JobStatus.INDEXED, chunk_count=1),
            # A replaced version's job moves; the document keeps showing the new version.
            JobStatusUpdate(tenant_id, second.job.id, JobStatus.INDEXED, chunk_count=2),
            JobStatusUpdate(tenant_id, replaced.job.id, JobStatus.FAILED, reason="bad bytes"),
        ]
    )

    assert changed == [True, True, False, False, False, True, True]
    job = await catalog.get_job(tenant_id, first.job.id)
    document = await catalog.get_document(tenant_id, first.document.id)
    assert job is not None and document is not None
    assert (job.status, job.chunk_count) == (JobStatus.INDEXED, 3)
    assert (document.status, document.indexed_version) == (JobStatus.INDEXED, 1)
    old_job = await catalog.get_job(tenant_id, second.job.id)
    edited = await catalog.get_document(tenant_id, replaced.document.id)
    assert old_job is not None and edited is not None
    assert old_job.status is JobStatus.INDEXED
    # Version 1 became searchable (nothing newer was indexed); the document shows version 2.
    assert (edited.version, edited.status, edited.indexed_version) == (2, JobStatus.FAILED, 1)
    assert await catalog.apply_job_statuses([]) == []


async def test_a_batch_naming_each_job_once_applies_like_one_by_one(catalog: SqlCatalog) -> None:
    """The batch a busy worker's events make (PostgreSQL applies it in one statement)."""
    tenant_id = await new_tenant(catalog)
    other = await new_tenant(catalog, "other")
    first = await submit(catalog, tenant_id, b"one", external_id="one")
    second = await submit(catalog, tenant_id, b"two", external_id="two")
    replaced = await submit(catalog, tenant_id, b"two, edited", external_id="two")
    third = await submit(catalog, tenant_id, b"three", external_id="three")
    batch = [
        JobStatusUpdate(tenant_id, first.job.id, JobStatus.PROCESSING),
        # Both versions of one document indexed together: searches move to the newer one.
        JobStatusUpdate(tenant_id, replaced.job.id, JobStatus.INDEXED, 4, None, 7, "m"),
        JobStatusUpdate(tenant_id, second.job.id, JobStatus.INDEXED, 2, None, 5, "m"),
        JobStatusUpdate(other, third.job.id, JobStatus.FAILED, reason="forged"),
        JobStatusUpdate(tenant_id, "job_unknown", JobStatus.INDEXED, chunk_count=1),
    ]

    assert await catalog.apply_job_statuses(batch) == [True, True, True, False, False]
    assert await catalog.apply_job_statuses(batch) == [False] * 5  # redelivered

    shown = await catalog.get_document(tenant_id, first.document.id)
    assert shown is not None and shown.status is JobStatus.PROCESSING
    edited = await catalog.get_document(tenant_id, replaced.document.id)
    assert edited is not None
    assert (edited.version, edited.status, edited.chunk_count, edited.indexed_version) == (
        2,
        JobStatus.INDEXED,
        4,
        2,
    )
    old_job = await catalog.get_job(tenant_id, second.job.id)
    assert old_job is not None and (old_job.status, old_job.chunk_count) == (JobStatus.INDEXED, 2)
    untouched = await catalog.get_job(tenant_id, third.job.id)
    assert untouched is not None and untouched.status is JobStatus.QUEUED
    today = datetime.now(UTC).date()
    usage = await catalog.usage_between(tenant_id, first_day=today, last_day=today)
    assert [(row.model, row.embedding_tokens) for row in usage] == [("m", 12)]


async def test_a_failed_job_keeps_its_reason_and_the_document_shows_it(
    catalog: SqlCatalog,
) -> None:
    tenant_id = await new_tenant(catalog)
    submission = await submit(catalog, tenant_id, b"x")

    changed = await catalog.apply_job_status(
        tenant_id, submission.job.id, JobStatus.FAILED, chunk_count=None, reason="not a PDF"
    )

    job = await catalog.get_job(tenant_id, submission.job.id)
    document = await catalog.get_document(tenant_id, submission.document.id)
    assert changed is True
    assert job is not None
    assert document is not None
    assert (job.status, job.reason) == (JobStatus.FAILED, "not a PDF")
    assert document.status is JobStatus.FAILED


async def test_events_for_a_replaced_version_update_the_job_not_the_document(
    catalog: SqlCatalog,
) -> None:
    tenant_id = await new_tenant(catalog)
    old = await submit(catalog, tenant_id, b"v1", external_id="guide")
    new = await submit(catalog, tenant_id, b"v2", external_id="guide")

    assert await catalog.apply_job_status(
        tenant_id, old.job.id, JobStatus.INDEXED, chunk_count=4, reason=None
    )

    old_job = await catalog.get_job(tenant_id, old.job.id)
    document = await catalog.get_document(tenant_id, new.document.id)
    assert old_job is not None
    assert old_job.status is JobStatus.INDEXED
    assert document is not None
    assert (document.version, document.status, document.chunk_count) == (
        2,
        JobStatus.QUEUED,
        None,
    )

    assert await catalog.apply_job_status(
        tenant_id, new.job.id, JobStatus.INDEXED, chunk_count=9, reason=None
    )
    document = await catalog.get_document(tenant_id, new.document.id)
    assert document is not None
    assert (document.status, document.chunk_count) == (JobStatus.INDEXED, 9)


async def test_status_events_of_another_tenant_or_unknown_jobs_change_nothing(
    catalog: SqlCatalog,
) -> None:
    owner = await new_tenant(catalog, "owner")
    stranger = await new_tenant(catalog, "stranger")
    submission = await submit(catalog, owner, b"x")

    assert not await catalog.apply_job_status(
        stranger, submission.job.id, JobStatus.FAILED, chunk_count=None, reason="evil"
    )
    assert not await catalog.apply_job_status(
        owner, "job_missing", JobStatus.FAILED, chunk_count=None, reason=None
    )
    assert await catalog.get_job(owner, submission.job.id) == submission.job
    assert await catalog.get_document(owner, submission.document.id) == submission.document


# recovery


async def test_unfinished_jobs_oldest_first_filtered_by_published(catalog: SqlCatalog) -> None:
    acme = await new_tenant(catalog, "acme")
    globex = await new_tenant(catalog, "globex")
    first = (await submit(catalog, acme, b"1")).job
    second = (await submit(catalog, globex, b"2")).job
    done = (await submit(catalog, acme, b"3")).job
    fourth = (await submit(catalog, acme, b"4")).job
    await catalog.mark_jobs_published(acme, [first.id, done.id])
    await catalog.apply_job_status(acme, done.id, JobStatus.INDEXED, chunk_count=1, reason=None)
    await catalog.apply_job_status(
        globex, second.id, JobStatus.PROCESSING, chunk_count=None, reason=None
    )

    def ids(found: Sequence[JobRecord]) -> list[str]:
        return [job.id for job in found]

    everything = await catalog.unfinished_jobs(published=None, limit=10)
    assert ids(everything) == [first.id, second.id, fourth.id]
    assert ids(await catalog.unfinished_jobs(published=True, limit=10)) == [first.id]
    assert ids(await catalog.unfinished_jobs(published=False, limit=10)) == [second.id, fourth.id]
    assert ids(await catalog.unfinished_jobs(published=None, limit=2)) == [first.id, second.id]
    published = await catalog.get_job(acme, first.id)
    assert published is not None
    assert published.published is True


async def test_marking_another_tenants_job_published_does_nothing(catalog: SqlCatalog) -> None:
    owner = await new_tenant(catalog, "owner")
    stranger = await new_tenant(catalog, "stranger")
    job = (await submit(catalog, owner, b"x")).job

    await catalog.mark_jobs_published(stranger, [job.id])

    assert await catalog.get_job(owner, job.id) == job


async def test_a_batch_of_processing_events_starts_each_job_once(catalog: SqlCatalog) -> None:
    """Plain ``processing`` batches take the one-statement path on PostgreSQL: same results."""
    tenant_id = await new_tenant(catalog)
    other = await new_tenant(catalog, "other")
    first = await submit(catalog, tenant_id, b"one", external_id="one")
    old = await submit(catalog, tenant_id, b"two", external_id="two")
    new = await submit(catalog, tenant_id, b"two, edited", external_id="two")
    done = await submit(catalog, tenant_id, b"three", external_id="three")
    await catalog.apply_job_statuses(
        [JobStatusUpdate(tenant_id, done.job.id, JobStatus.INDEXED, chunk_count=2)]
    )

    changed = await catalog.apply_job_statuses(
        [
            JobStatusUpdate(tenant_id, first.job.id, JobStatus.PROCESSING),
            JobStatusUpdate(tenant_id, first.job.id, JobStatus.PROCESSING),  # again: no change
            JobStatusUpdate(other, old.job.id, JobStatus.PROCESSING),  # another tenant's id
            JobStatusUpdate(tenant_id, old.job.id, JobStatus.PROCESSING),  # a replaced version
            JobStatusUpdate(tenant_id, done.job.id, JobStatus.PROCESSING),  # backwards
            JobStatusUpdate(tenant_id, "job_unknown", JobStatus.PROCESSING),
        ]
    )

    assert changed == [True, False, False, True, False, False]
    statuses = {
        job_id: (await catalog.get_job(tenant_id, job_id))
        for job_id in (first.job.id, old.job.id, new.job.id, done.job.id)
    }
    assert {job_id: job.status for job_id, job in statuses.items() if job} == {
        first.job.id: JobStatus.PROCESSING,
        old.job.id: JobStatus.PROCESSING,
        new.job.id: JobStatus.QUEUED,
        done.job.id: JobStatus.INDEXED,
    }
    shown = await catalog.get_document(tenant_id, first.document.id)
    edited = await catalog.get_document(tenant_id, new.document.id)
    finished = await catalog.get_document(tenant_id, done.document.id)
    assert shown is not None and edited is not None and finished is not None
    assert shown.status is JobStatus.PROCESSING
    assert (edited.version, edited.status) == (2, JobStatus.QUEUED)  # shows version 2's job
    assert (finished.status, finished.chunk_count) == (JobStatus.INDEXED, 2)
