"""Statements of the per-tenant usage totals (migration 0003), kept apart from the document code.

Recording is one upsert on the ``(tenant, day, model)`` key, so concurrent answers from any
number of gateway replicas add up without a read-modify-write race: PostgreSQL and SQLite both
apply ``INSERT ... ON CONFLICT DO UPDATE SET x = x + excluded.x`` atomically.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import RowMapping, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from ragline_common.tenancy import TenantId
from ragline_gateway.adapters.catalog.connections import Connections
from ragline_gateway.adapters.catalog.tables import usage_daily
from ragline_gateway.ports.catalog import UsageDelta, UsageRecord

_COUNTERS = (
    "requests",
    "degraded_requests",
    "prompt_tokens",
    "completion_tokens",
    "cost_micro_usd",
)


class SqlUsageTotals:
    """:class:`~ragline_gateway.ports.catalog.UsageTotals` on the catalog database."""

    def __init__(self, connections: Connections) -> None:
        self._connections = connections

    async def record_usage(self, tenant_id: TenantId, delta: UsageDelta, *, when: datetime) -> None:
        async with self._connections.writing() as connection:
            await add_usage(connection, tenant_id, delta, when)

    async def usage_between(
        self, tenant_id: TenantId, *, first_day: date, last_day: date
    ) -> list[UsageRecord]:
        async with self._connections.reading() as connection:
            return await usage_rows(connection, tenant_id, first_day, last_day)

    async def tokens_used_on(self, tenant_id: TenantId, day: date) -> int:
        async with self._connections.reading() as connection:
            return await tokens_on(connection, tenant_id, day)


def utc_day(when: datetime) -> date:
    """The UTC calendar day of an aware datetime: every replica agrees on where a day ends."""
    if when.tzinfo is None:
        raise ValueError("usage times must be timezone-aware")
    return when.astimezone(UTC).date()


async def add_usage(
    connection: AsyncConnection, tenant_id: TenantId, delta: UsageDelta, when: datetime
) -> None:
    if min(delta.prompt_tokens, delta.completion_tokens, delta.cost_micro_usd) < 0:
        raise ValueError("usage cannot be negative")
    values = {
        "tenant_id": tenant_id,
        "day": utc_day(when),
        "model": delta.model,
        "requests": 1,
        "degraded_requests": 1 if delta.degraded else 0,
        "prompt_tokens": delta.prompt_tokens,
        "completion_tokens": delta.completion_tokens,
        "cost_micro_usd": delta.cost_micro_usd,
    }
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(usage_daily).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=[usage_daily.c.tenant_id, usage_daily.c.day, usage_daily.c.model],
        set_={name: usage_daily.c[name] + statement.excluded[name] for name in _COUNTERS},
    )
    await connection.execute(statement)


async def usage_rows(
    connection: AsyncConnection, tenant_id: TenantId, first_day: date, last_day: date
) -> list[UsageRecord]:
    rows = (
        await connection.execute(
            select(usage_daily)
            .where(
                usage_daily.c.tenant_id == tenant_id,
                usage_daily.c.day >= first_day,
                usage_daily.c.day <= last_day,
            )
            .order_by(usage_daily.c.day, usage_daily.c.model)
        )
    ).mappings()
    return [_record(row) for row in rows]


async def tokens_on(connection: AsyncConnection, tenant_id: TenantId, day: date) -> int:
    total = (
        await connection.execute(
            select(
                func.coalesce(
                    func.sum(usage_daily.c.prompt_tokens + usage_daily.c.completion_tokens), 0
                )
            ).where(usage_daily.c.tenant_id == tenant_id, usage_daily.c.day == day)
        )
    ).scalar_one()
    return int(total)


def _record(row: RowMapping) -> UsageRecord:
    return UsageRecord(
        day=row["day"],
        model=row["model"],
        requests=int(row["requests"]),
        degraded_requests=int(row["degraded_requests"]),
        prompt_tokens=int(row["prompt_tokens"]),
        completion_tokens=int(row["completion_tokens"]),
        cost_micro_usd=int(row["cost_micro_usd"]),
    )
