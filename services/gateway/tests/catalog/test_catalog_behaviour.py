"""Behaviour of :class:`SqlCatalog`, the same suite on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from ragline_common.errors import NotFound
from ragline_common.messages import JobStatus
from ragline_common.tenancy import Scope, TenantId
from ragline_gateway.adapters.catalog import SqlCatalog
from ragline_gateway.adapters.catalog.tables import (
    api_keys,
    document_blobs,
    documents,
    jobs,
    tenants,
)
from ragline_gateway.ports.catalog import (
    Catalog,
    DocumentDraft,
    JobRecord,
    JobStatusUpdate,
    Submission,
)

ALL_SCOPES = frozenset(Scope)

_ADAPTER_FITS_THE_PORT: type[Catalog] = SqlCatalog
"""Checked by mypy --strict: a signature drifting from the port fails type checking."""


def draft(content: bytes, *, external_id: str | None = None, title: str = "Guide") -> DocumentDraft:
    return DocumentDraft(
        title=title,
        source_name=f"{title.lower()}.txt",
        content_type="text/plain",
        content_hash=hashlib.sha256(content).hexdigest(),
        size_bytes=len(content),
        metadata={"lang": "en", "tags": ["a", "b"], "nested": {"n": 1}},
        external_id=external_id,
    )


async def submit(
    catalog: SqlCatalog, tenant_id: TenantId, content: bytes, *, external_id: str | None = None
) -> Submission:
    return await catalog.submit_document(
        tenant_id, draft(content, external_id=external_id), content
    )


async def new_tenant(catalog: SqlCatalog, name: str = "acme") -> TenantId:
    return (await catalog.create_tenant(name)).id


# schema and lifecycle


async def test_open_is_idempotent_and_data_survives_reopen(database_url: str) -> None:
    first = SqlCatalog(database_url, pool_size=2)
    await first.open()
    await first.open()
    tenant = await first.create_tenant("acme")
    key = await first.create_api_key(
        tenant.id, name="ci", prefix="rl_ab", key_hash="h" * 64, scopes=ALL_SCOPES, expires_at=None
    )
    stored = await submit(first, tenant.id, b"body", external_id="ext")
    await first.close()

    second = SqlCatalog(database_url, pool_size=2)
    await second.open()
    try:
        assert await second.get_tenant(tenant.id) == tenant
        assert await second.find_api_key("h" * 64) == key
        assert await second.get_document(tenant.id, stored.document.id) == stored.document
        assert await second.get_document_content(tenant.id, stored.document.id, 1) == b"body"
        again = await submit(second, tenant.id, b"body", external_id="ext")
        assert again.created is False
        assert again.job == stored.job
    finally:
        await second.close()


async def test_concurrent_opens_on_an_empty_database_all_succeed(database_url: str) -> None:
    replicas = [SqlCatalog(database_url, pool_size=1) for _ in range(3)]
    try:
        await asyncio.gather(*(replica.open() for replica in replicas))
        tenant = await replicas[0].create_tenant("acme")
        assert await replicas[2].get_tenant(tenant.id) == tenant
    finally:
        for replica in replicas:
            await replica.close()


async def test_ping_succeeds_on_a_live_database(catalog: SqlCatalog) -> None:
    await catalog.ping()


# tenants and keys


async def test_tenants_are_created_listed_and_fetched(catalog: SqlCatalog) -> None:
    acme = await catalog.create_tenant("acme")
    globex = await catalog.create_tenant("globex")

    assert acme.id.startswith("ten_")
    assert acme.id != globex.id
    assert await catalog.get_tenant(acme.id) == acme
    assert await catalog.get_tenant(TenantId("ten_missing")) is None
    assert await catalog.list_tenants() == [acme, globex]


async def test_api_keys_are_created_found_by_hash_and_listed(catalog: SqlCatalog) -> None:
    tenant_id = await new_tenant(catalog)
    expires = datetime.now(UTC) + timedelta(days=30)
    key = await catalog.create_api_key(
        tenant_id,
        name="ingest bot",
        prefix="rl_1234",
        key_hash="a" * 64,
        scopes=frozenset({Scope.INGEST, Scope.QUERY}),
        expires_at=expires,
    )
    other = await catalog.create_api_key(
        tenant_id,
        name="admin",
        prefix="rl_5678",
        key_hash="b" * 64,
        scopes=ALL_SCOPES,
        expires_at=None,
    )

    assert key.id.startswith("key_")
    assert key.tenant_id == tenant_id
    assert (key.name, key.prefix) == ("ingest bot", "rl_1234")
    assert key.scopes == frozenset({Scope.INGEST, Scope.QUERY})
    assert key.expires_at == expires
    assert key.revoked_at is None
    assert key.last_used_at is None
    assert await catalog.find_api_key("a" * 64) == key
    assert await catalog.find_api_key("c" * 64) is None
    assert await catalog.list_api_keys(tenant_id) == [key, other]


async def test_api_key_for_a_missing_tenant_is_refused(catalog: SqlCatalog) -> None:
    with pytest.raises(NotFound):
        await catalog.create_api_key(
            TenantId("ten_missing"),
            name="x",
            prefix="rl_x",
            key_hash="d" * 64,
            scopes=ALL_SCOPES,
            expires_at=None,
        )


async def test_revoking_a_key_is_tenant_scoped_and_keeps_the_first_time(
    catalog: SqlCatalog,
) -> None:
    owner = await new_tenant(catalog, "owner")
    stranger = await new_tenant(catalog, "stranger")
    key = await catalog.create_api_key(
        owner, name="k", prefix="rl_k", key_hash="e" * 64, scopes=ALL_SCOPES, expires_at=None
    )

    assert await catalog.revoke_api_key(stranger, key.id) is False
    assert (await catalog.find_api_key("e" * 64)) == key

    assert await catalog.revoke_api_key(owner, key.id) is True
    revoked = await catalog.find_api_key("e" * 64)
    assert revoked is not None
    assert revoked.revoked_at is not None

    assert await catalog.revoke_api_key(owner, key.id) is True
    assert await catalog.find_api_key("e" * 64) == revoked
    assert await catalog.revoke_api_key(owner, "key_missing") is False


async def test_touching_a_key_records_the_latest_use_only(catalog: SqlCatalog) -> None:
    tenant_id = await new_tenant(catalog)
    key = await catalog.create_api_key(
        tenant_id, name="k", prefix="rl_k", key_hash="f" * 64, scopes=ALL_SCOPES, expires_at=None
    )
    later = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)

    await catalog.touch_api_key(key.id, later)
    await catalog.touch_api_key(key.id, later - timedelta(minutes=5))

    touched = await catalog.find_api_key("f" * 64)
    assert touched is not None
    assert touched.last_used_at == later


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
    await catalog.mark_job_published(tenant_id, first.job.id)

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
    await catalog.mark_job_published(acme, first.id)
    await catalog.mark_job_published(acme, done.id)
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

    await catalog.mark_job_published(stranger, job.id)

    assert await catalog.get_job(owner, job.id) == job


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


# time


async def test_datetimes_are_aware_utc_in_and_out(catalog: SqlCatalog) -> None:
    tenant = await catalog.create_tenant("acme")
    plus_two = timezone(timedelta(hours=2))
    expires = datetime(2031, 1, 1, 14, 30, 15, 123456, tzinfo=plus_two)
    key = await catalog.create_api_key(
        tenant.id,
        name="k",
        prefix="rl_k",
        key_hash="4" * 64,
        scopes=ALL_SCOPES,
        expires_at=expires,
    )
    submission = await submit(catalog, tenant.id, b"x")
    found = await catalog.find_api_key("4" * 64)
    assert found is not None

    assert found.expires_at == expires
    assert found.expires_at is not None
    assert found.expires_at.utcoffset() == timedelta(0)
    assert found.expires_at.hour == 12
    stamps = [
        tenant.created_at,
        found.created_at,
        submission.document.created_at,
        submission.document.updated_at,
        submission.job.created_at,
        submission.job.updated_at,
    ]
    now = datetime.now(UTC)
    for stamp in stamps:
        assert stamp.utcoffset() == timedelta(0)
        assert abs(now - stamp) < timedelta(minutes=1)
    with pytest.raises(ValueError, match="timezone-aware"):
        await catalog.touch_api_key(key.id, datetime(2030, 1, 1))


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
