"""Per-tenant usage totals (migration 0003), the same suite on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from ragline_common.tenancy import TenantId
from ragline_gateway.adapters.catalog import SqlCatalog
from ragline_gateway.ports.catalog import UsageDelta

NOON = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def delta(
    model: str = "gpt", prompt: int = 100, completion: int = 20, **extra: object
) -> UsageDelta:
    values: dict[str, object] = {
        "model": model,
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "cost_micro_usd": 7,
        "degraded": False,
    }
    values.update(extra)
    return UsageDelta(**values)  # type: ignore[arg-type]


async def test_usage_adds_up_per_day_and_model(catalog: SqlCatalog) -> None:
    tenant = (await catalog.create_tenant("acme")).id
    await catalog.record_usage(tenant, delta(), when=NOON)
    await catalog.record_usage(tenant, delta(prompt=50, completion=5, degraded=True), when=NOON)
    await catalog.record_usage(tenant, delta(model="extractive", prompt=0, completion=0), when=NOON)
    await catalog.record_usage(tenant, delta(), when=NOON + timedelta(days=1))

    rows = await catalog.usage_between(
        tenant, first_day=NOON.date(), last_day=NOON.date() + timedelta(days=1)
    )

    assert [(r.day, r.model, r.requests, r.degraded_requests) for r in rows] == [
        (date(2026, 3, 10), "extractive", 1, 0),
        (date(2026, 3, 10), "gpt", 2, 1),
        (date(2026, 3, 11), "gpt", 1, 0),
    ]
    assert (rows[1].prompt_tokens, rows[1].completion_tokens, rows[1].cost_micro_usd) == (
        150,
        25,
        14,
    )
    assert await catalog.tokens_used_on(tenant, NOON.date()) == 175
    assert await catalog.tokens_used_on(tenant, date(2026, 3, 12)) == 0


async def test_the_day_is_the_utc_day(catalog: SqlCatalog) -> None:
    tenant = (await catalog.create_tenant("acme")).id
    # 23:30 in New York on the 10th is 04:30 UTC on the 11th.
    new_york = timezone(timedelta(hours=-5))
    await catalog.record_usage(tenant, delta(), when=datetime(2026, 3, 10, 23, 30, tzinfo=new_york))

    assert await catalog.tokens_used_on(tenant, date(2026, 3, 11)) == 120
    with pytest.raises(ValueError, match="timezone"):
        await catalog.record_usage(tenant, delta(), when=datetime(2026, 3, 10, 12, 0))


async def test_concurrent_records_lose_nothing(catalog: SqlCatalog) -> None:
    tenant = (await catalog.create_tenant("acme")).id
    await asyncio.gather(*(catalog.record_usage(tenant, delta(), when=NOON) for _ in range(20)))

    (row,) = await catalog.usage_between(tenant, first_day=NOON.date(), last_day=NOON.date())
    assert (row.requests, row.prompt_tokens, row.cost_micro_usd) == (20, 2000, 140)


async def test_usage_is_per_tenant_and_erased_with_the_tenant(catalog: SqlCatalog) -> None:
    alpha = (await catalog.create_tenant("alpha")).id
    beta = (await catalog.create_tenant("beta")).id
    await catalog.record_usage(alpha, delta(), when=NOON)

    assert await catalog.usage_between(beta, first_day=NOON.date(), last_day=NOON.date()) == []
    assert await catalog.tokens_used_on(beta, NOON.date()) == 0
    assert await catalog.delete_tenant(alpha)
    assert (
        await catalog.usage_between(TenantId(alpha), first_day=NOON.date(), last_day=NOON.date())
        == []
    )
