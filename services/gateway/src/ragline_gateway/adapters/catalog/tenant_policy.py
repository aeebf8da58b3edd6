"""Statements of per-tenant limits, quotas and key rotation (migration 0004).

Kept apart from the document code in ``sql_catalog``: these rows decide what a tenant may do,
not what it has stored, and the gateway reads them on a different path (authentication).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ragline_common.tenancy import TenantId
from ragline_gateway.adapters.catalog.rows import utc
from ragline_gateway.adapters.catalog.tables import api_keys, documents, tenants
from ragline_gateway.ports.catalog import StorageUsage, TenantLimits

_LIMIT_COLUMNS = tuple(TenantLimits.__dataclass_fields__)


async def tenant_limits(connection: AsyncConnection, tenant_id: TenantId) -> TenantLimits | None:
    row = (
        (
            await connection.execute(
                select(*(tenants.c[name] for name in _LIMIT_COLUMNS)).where(
                    tenants.c.id == tenant_id
                )
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        return None
    return TenantLimits(**{name: row[name] for name in _LIMIT_COLUMNS})


async def store_tenant_limits(
    connection: AsyncConnection, tenant_id: TenantId, limits: TenantLimits
) -> bool:
    result = await connection.execute(
        update(tenants).where(tenants.c.id == tenant_id).values(**asdict(limits))
    )
    return bool(result.rowcount)


async def storage_of(connection: AsyncConnection, tenant_id: TenantId) -> StorageUsage:
    row = (
        await connection.execute(
            select(func.count(), func.coalesce(func.sum(documents.c.size_bytes), 0)).where(
                documents.c.tenant_id == tenant_id, documents.c.deleted_at.is_(None)
            )
        )
    ).one()
    return StorageUsage(documents=int(row[0]), stored_bytes=int(row[1]))


async def retire_key(
    connection: AsyncConnection,
    tenant_id: TenantId,
    key_id: str,
    replaced_by: str,
    expires_at: datetime,
) -> bool:
    row = (
        (
            await connection.execute(
                select(api_keys.c.expires_at)
                .where(
                    api_keys.c.tenant_id == tenant_id,
                    api_keys.c.id == key_id,
                    api_keys.c.revoked_at.is_(None),
                )
                .with_for_update()
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        return False
    until = utc(expires_at)
    current: datetime | None = row["expires_at"]
    # A key that already expires sooner keeps its earlier end.
    await connection.execute(
        update(api_keys)
        .where(api_keys.c.id == key_id)
        .values(
            replaced_by=replaced_by,
            expires_at=until if current is None or current > until else current,
        )
    )
    return True
