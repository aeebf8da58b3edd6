"""Embedding tokens in the usage ledger (migration 0008): billed with the ``indexed`` status that
changed a job, in its transaction, once. The same suite on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from catalog_harness import new_tenant, submit
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

from ragline_common.messages import JobStatus
from ragline_common.tenancy import TenantId
from ragline_gateway.adapters.catalog import SqlCatalog
from ragline_gateway.ports.catalog import JobStatusUpdate, UsageDelta, UsageRecord

MODEL = "onnx:all-MiniLM-L6-v2"


def indexed(tenant_id: TenantId, job_id: str, tokens: int, model: str = MODEL) -> JobStatusUpdate:
    return JobStatusUpdate(
        tenant_id,
        job_id,
        JobStatus.INDEXED,
        chunk_count=1,
        embedding_tokens=tokens,
        embedding_model=model,
    )


def today() -> date:
    return datetime.now(UTC).date()


async def usage_today(catalog: SqlCatalog, tenant_id: TenantId) -> list[UsageRecord]:
    return await catalog.usage_between(tenant_id, first_day=today(), last_day=today())


async def test_indexed_events_bill_their_tokens_per_tenant_and_model(catalog: SqlCatalog) -> None:
    alpha = await new_tenant(catalog, "alpha")
    beta = await new_tenant(catalog, "beta")
    one = await submit(catalog, alpha, b"one", external_id="one")
    two = await submit(catalog, alpha, b"two", external_id="two")
    three = await submit(catalog, alpha, b"three", external_id="three")
    theirs = await submit(catalog, beta, b"theirs", external_id="theirs")

    changed = await catalog.apply_job_statuses(
        [
            indexed(alpha, one.job.id, 40),
            indexed(alpha, two.job.id, 2),  # the same key in one batch: added up
            indexed(alpha, three.job.id, 9, model="openai:text-embedding-3-small"),
            indexed(beta, theirs.job.id, 5),
        ]
    )

    assert changed == [True, True, True, True]
    rows = await usage_today(catalog, alpha)
    assert [(r.model, r.embedding_tokens, r.requests, r.prompt_tokens) for r in rows] == [
        (MODEL, 42, 0, 0),
        ("openai:text-embedding-3-small", 9, 0, 0),
    ]
    assert [(r.model, r.embedding_tokens) for r in await usage_today(catalog, beta)] == [(MODEL, 5)]


async def test_a_redelivered_or_stale_event_bills_nothing(catalog: SqlCatalog) -> None:
    tenant = await new_tenant(catalog)
    done = await submit(catalog, tenant, b"done", external_id="done")
    failed = await submit(catalog, tenant, b"failed", external_id="failed")
    await catalog.apply_job_statuses(
        [
            indexed(tenant, done.job.id, 30),
            JobStatusUpdate(tenant, failed.job.id, JobStatus.FAILED, reason="bad bytes"),
        ]
    )

    again = await catalog.apply_job_statuses(
        [
            indexed(tenant, done.job.id, 30),  # redelivered, alone and twice in one batch
            indexed(tenant, done.job.id, 30),
            indexed(tenant, failed.job.id, 8),  # the job already failed: it does not move
            indexed(tenant, "job_unknown", 8),
        ]
    )
    assert again == [False, False, False, False]
    assert await catalog.apply_job_statuses([indexed(tenant, done.job.id, 30)]) == [False]

    (row,) = await usage_today(catalog, tenant)
    assert (row.model, row.embedding_tokens) == (MODEL, 30)


async def test_only_indexed_events_with_a_model_bill(catalog: SqlCatalog) -> None:
    tenant = await new_tenant(catalog)
    first = await submit(catalog, tenant, b"first", external_id="first")
    second = await submit(catalog, tenant, b"second", external_id="second")

    await catalog.apply_job_statuses(
        [
            JobStatusUpdate(tenant, first.job.id, JobStatus.PROCESSING, embedding_tokens=7),
            JobStatusUpdate(tenant, first.job.id, JobStatus.INDEXED, embedding_tokens=7),
            indexed(tenant, second.job.id, 0),
        ]
    )

    assert await usage_today(catalog, tenant) == []


async def test_embedding_tokens_leave_requests_and_the_llm_quota_alone(
    catalog: SqlCatalog,
) -> None:
    tenant = await new_tenant(catalog)
    document = await submit(catalog, tenant, b"doc", external_id="doc")
    answer = UsageDelta(
        model=MODEL, prompt_tokens=100, completion_tokens=20, cost_micro_usd=7, degraded=False
    )
    await catalog.record_usage(tenant, answer, when=datetime.now(UTC))

    await catalog.apply_job_statuses([indexed(tenant, document.job.id, 500)])
    await catalog.record_usage(tenant, answer, when=datetime.now(UTC))

    (row,) = await usage_today(catalog, tenant)  # an LLM and an embedder of the same name
    assert (row.requests, row.prompt_tokens, row.completion_tokens) == (2, 200, 40)
    assert (row.cost_micro_usd, row.embedding_tokens) == (14, 500)
    assert await catalog.tokens_used_on(tenant, today()) == 240


async def test_a_model_name_longer_than_the_key_is_cut(catalog: SqlCatalog) -> None:
    tenant = await new_tenant(catalog)
    document = await submit(catalog, tenant, b"doc", external_id="doc")

    await catalog.apply_job_statuses([indexed(tenant, document.job.id, 3, model="m" * 300)])

    (row,) = await usage_today(catalog, tenant)
    assert (row.model, row.embedding_tokens) == ("m" * 200, 3)


_REFUSE_USAGE = {
    "sqlite": [
        "CREATE TRIGGER refuse_usage BEFORE INSERT ON usage_daily"
        " BEGIN SELECT RAISE(ABORT, 'the usage write failed'); END",
    ],
    "postgresql": [
        "CREATE FUNCTION refuse_usage() RETURNS trigger LANGUAGE plpgsql"
        " AS $$ BEGIN RAISE EXCEPTION 'the usage write failed'; END $$",
        "CREATE TRIGGER refuse_usage BEFORE INSERT ON usage_daily"
        " FOR EACH ROW EXECUTE FUNCTION refuse_usage()",
    ],
}
_ALLOW_USAGE = {
    "sqlite": ["DROP TRIGGER refuse_usage"],
    "postgresql": ["DROP TRIGGER refuse_usage ON usage_daily", "DROP FUNCTION refuse_usage()"],
}


async def _run(database_url: str, statements: dict[str, list[str]]) -> None:
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as connection:
            for statement in statements[connection.dialect.name]:
                await connection.execute(text(statement))
    finally:
        await engine.dispose()


async def test_tokens_and_status_commit_together(catalog: SqlCatalog, database_url: str) -> None:
    """The database refusing the usage write refuses the status too (PostgreSQL applies the
    batch in one statement, SQLite in one transaction)."""
    tenant = await new_tenant(catalog)
    document = await submit(catalog, tenant, b"doc", external_id="doc")

    await _run(database_url, _REFUSE_USAGE)
    with pytest.raises(DBAPIError, match="usage write failed"):
        await catalog.apply_job_statuses([indexed(tenant, document.job.id, 3)])
    await _run(database_url, _ALLOW_USAGE)

    job = await catalog.get_job(tenant, document.job.id)
    assert job is not None and job.status is JobStatus.QUEUED  # rolled back with the tokens
    # The retried delivery applies both.
    assert await catalog.apply_job_statuses([indexed(tenant, document.job.id, 3)]) == [True]
    (row,) = await usage_today(catalog, tenant)
    assert row.embedding_tokens == 3
