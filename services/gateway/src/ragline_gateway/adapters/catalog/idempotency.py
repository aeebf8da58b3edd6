"""Statements of idempotency records (migration 0004): claim, complete, release, purge.

A claim is a row in state ``running``; completing it stores the response for replay. The row is
locked while a claim is decided, so of two replicas receiving the same key at once exactly one
runs the request (on PostgreSQL a simultaneous first insert loses on the primary key instead,
and the caller retries the claim once, which then sees the winner's row).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from ragline_common.tenancy import TenantId
from ragline_gateway.adapters.catalog.connections import Connections, require_tenant
from ragline_gateway.adapters.catalog.rows import utc
from ragline_gateway.adapters.catalog.tables import idempotency_keys
from ragline_gateway.ports.catalog import IdempotencyClaim, StoredResponse

_RUNNING = "running"
_DONE = "done"


class SqlIdempotencyStore:
    """:class:`~ragline_gateway.ports.catalog.IdempotencyStore` on the catalog database."""

    def __init__(self, connections: Connections) -> None:
        self._connections = connections

    async def claim_idempotency_key(
        self,
        tenant_id: TenantId,
        key: str,
        fingerprint: str,
        *,
        now: datetime,
        lease_s: float,
        ttl_s: float,
    ) -> IdempotencyClaim:
        for attempt in range(2):
            try:
                async with self._connections.writing() as connection:
                    await require_tenant(connection, tenant_id)
                    return await claim(
                        connection,
                        tenant_id,
                        key,
                        fingerprint,
                        now=now,
                        lease_s=lease_s,
                        ttl_s=ttl_s,
                    )
            except IntegrityError:
                if attempt:
                    raise
        raise AssertionError("unreachable")

    async def complete_idempotency_key(
        self, tenant_id: TenantId, key: str, response: StoredResponse
    ) -> None:
        async with self._connections.writing() as connection:
            await complete(connection, tenant_id, key, response)

    async def release_idempotency_key(self, tenant_id: TenantId, key: str) -> None:
        async with self._connections.writing() as connection:
            await release(connection, tenant_id, key)

    async def purge_idempotency_keys(self, *, before: datetime) -> int:
        async with self._connections.writing() as connection:
            return await purge(connection, before)


def _this(tenant_id: TenantId, key: str) -> ColumnElement[bool]:
    return and_(idempotency_keys.c.tenant_id == tenant_id, idempotency_keys.c.key == key)


async def claim(
    connection: AsyncConnection,
    tenant_id: TenantId,
    key: str,
    fingerprint: str,
    *,
    now: datetime,
    lease_s: float,
    ttl_s: float,
) -> IdempotencyClaim:
    now = utc(now)
    row = (
        (
            await connection.execute(
                select(idempotency_keys).where(_this(tenant_id, key)).with_for_update()
            )
        )
        .mappings()
        .first()
    )
    if row is not None and row["expires_at"] <= now:
        await connection.execute(delete(idempotency_keys).where(_this(tenant_id, key)))
        row = None
    if row is None:
        await connection.execute(
            insert(idempotency_keys).values(
                tenant_id=tenant_id,
                key=key,
                fingerprint=fingerprint,
                state=_RUNNING,
                created_at=now,
                expires_at=now + timedelta(seconds=ttl_s),
            )
        )
        return IdempotencyClaim("claimed")
    if row["fingerprint"] != fingerprint:
        return IdempotencyClaim("mismatch")
    if row["state"] == _RUNNING:
        if row["created_at"] + timedelta(seconds=lease_s) > now:
            return IdempotencyClaim("running")
        # The request that claimed it died with its replica: this retry takes over.
        await connection.execute(
            update(idempotency_keys).where(_this(tenant_id, key)).values(created_at=now)
        )
        return IdempotencyClaim("claimed")
    headers = [(str(name), str(value)) for name, value in row["response_headers"] or []]
    return IdempotencyClaim(
        "done",
        StoredResponse(
            status_code=int(row["status_code"]), headers=headers, body=row["response_body"] or b""
        ),
    )


async def complete(
    connection: AsyncConnection, tenant_id: TenantId, key: str, response: StoredResponse
) -> None:
    await connection.execute(
        update(idempotency_keys)
        .where(_this(tenant_id, key), idempotency_keys.c.state == _RUNNING)
        .values(
            state=_DONE,
            status_code=response.status_code,
            response_headers=[list(pair) for pair in response.headers],
            response_body=response.body,
        )
    )


async def release(connection: AsyncConnection, tenant_id: TenantId, key: str) -> None:
    await connection.execute(
        delete(idempotency_keys).where(_this(tenant_id, key), idempotency_keys.c.state == _RUNNING)
    )


async def purge(connection: AsyncConnection, before: datetime) -> int:
    result = await connection.execute(
        delete(idempotency_keys).where(idempotency_keys.c.expires_at < utc(before))
    )
    return int(result.rowcount or 0)
