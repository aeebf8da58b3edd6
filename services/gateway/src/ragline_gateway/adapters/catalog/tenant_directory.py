"""Tenants, their limit overrides and their API keys on SQL: the catalog's tenant directory.

These rows decide who may do what, not what anyone has stored; the gateway reads them on the
authentication path (through the key directory's cache) and the operator's routes change them.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from sqlalchemy import bindparam, delete, insert, or_, select, update

from ragline_common.ids import new_id
from ragline_common.tenancy import Scope, TenantId
from ragline_gateway.adapters.catalog.connections import (
    Connections,
    first,
    now,
    one,
    require_tenant,
)
from ragline_gateway.adapters.catalog.rows import (
    api_key_record,
    scopes_column,
    tenant_record,
    utc,
)
from ragline_gateway.adapters.catalog.tables import (
    api_keys,
    document_blobs,
    documents,
    idempotency_keys,
    jobs,
    tenants,
    usage_daily,
)
from ragline_gateway.ports.catalog import ApiKeyRecord, TenantLimits, TenantRecord

_LIMIT_COLUMNS = tuple(TenantLimits.__dataclass_fields__)
_TENANT_ROWS = (jobs, document_blobs, documents, api_keys, usage_daily, idempotency_keys)
"""Every table holding rows of a tenant, in an order that deletes referencing rows first."""


# Read for every request that uploads or searches: built once (a statement and its cache key
# built per call cost ~150 us of gateway CPU).
_LIMITS = select(*(tenants.c[name] for name in _LIMIT_COLUMNS)).where(
    tenants.c.id == bindparam("t_tenant", type_=tenants.c.id.type)
)


class SqlTenantDirectory:
    """:class:`~ragline_gateway.ports.catalog.TenantDirectory` on the catalog database."""

    def __init__(self, connections: Connections) -> None:
        self._connections = connections

    # tenants

    async def create_tenant(self, name: str) -> TenantRecord:
        async with self._connections.writing() as connection:
            row = await one(
                connection,
                insert(tenants)
                .values(id=new_id("ten"), name=name, created_at=now())
                .returning(tenants),
            )
        return tenant_record(row)

    async def get_tenant(self, tenant_id: TenantId) -> TenantRecord | None:
        async with self._connections.reading() as connection:
            row = await first(connection, select(tenants).where(tenants.c.id == tenant_id))
        return None if row is None else tenant_record(row)

    async def list_tenants(self) -> list[TenantRecord]:
        async with self._connections.reading() as connection:
            rows = (
                await connection.execute(
                    select(tenants).order_by(tenants.c.created_at, tenants.c.id)
                )
            ).mappings()
            return [tenant_record(row) for row in rows]

    async def delete_tenant(self, tenant_id: TenantId) -> bool:
        """Erase the tenant and every row it owns; ``False`` when there was no such tenant.

        The tenant row is locked first, so a concurrent submit or key creation for it waits and
        then finds no tenant, instead of slipping a row in between the deletes.
        """
        async with self._connections.writing() as connection:
            found = (
                await connection.execute(
                    select(tenants.c.id).where(tenants.c.id == tenant_id).with_for_update()
                )
            ).first()
            if found is None:
                return False
            for table in _TENANT_ROWS:
                await connection.execute(delete(table).where(table.c.tenant_id == tenant_id))
            await connection.execute(delete(tenants).where(tenants.c.id == tenant_id))
        return True

    # limit overrides (migration 0004)

    async def get_tenant_limits(self, tenant_id: TenantId) -> TenantLimits | None:
        async with self._connections.reading() as connection:
            row = await first(connection, _LIMITS, {"t_tenant": tenant_id})
        if row is None:
            return None
        return TenantLimits(**{name: row[name] for name in _LIMIT_COLUMNS})

    async def set_tenant_limits(self, tenant_id: TenantId, limits: TenantLimits) -> bool:
        async with self._connections.writing() as connection:
            result = await connection.execute(
                update(tenants).where(tenants.c.id == tenant_id).values(**asdict(limits))
            )
        return bool(result.rowcount)

    # keys

    async def create_api_key(
        self,
        tenant_id: TenantId,
        *,
        name: str,
        prefix: str,
        key_hash: str,
        scopes: frozenset[Scope],
        expires_at: datetime | None,
    ) -> ApiKeyRecord:
        async with self._connections.writing() as connection:
            await require_tenant(connection, tenant_id)
            row = await one(
                connection,
                insert(api_keys)
                .values(
                    id=new_id("key"),
                    tenant_id=tenant_id,
                    name=name,
                    prefix=prefix,
                    key_hash=key_hash,
                    scopes=scopes_column(scopes),
                    created_at=now(),
                    expires_at=None if expires_at is None else utc(expires_at),
                )
                .returning(api_keys),
            )
        return api_key_record(row)

    async def find_api_key(self, key_hash: str) -> ApiKeyRecord | None:
        """Look a key up by its hash; revoked and expired keys too (the caller judges them)."""
        async with self._connections.reading() as connection:
            row = await first(connection, select(api_keys).where(api_keys.c.key_hash == key_hash))
        return None if row is None else api_key_record(row)

    async def list_api_keys(self, tenant_id: TenantId) -> list[ApiKeyRecord]:
        async with self._connections.reading() as connection:
            rows = (
                await connection.execute(
                    select(api_keys)
                    .where(api_keys.c.tenant_id == tenant_id)
                    .order_by(api_keys.c.created_at, api_keys.c.id)
                )
            ).mappings()
            return [api_key_record(row) for row in rows]

    async def revoke_api_key(self, tenant_id: TenantId, key_id: str) -> bool:
        """``True`` when the tenant has this key; revoking twice keeps the first revocation time."""
        async with self._connections.writing() as connection:
            await connection.execute(
                update(api_keys)
                .where(
                    api_keys.c.tenant_id == tenant_id,
                    api_keys.c.id == key_id,
                    api_keys.c.revoked_at.is_(None),
                )
                .values(revoked_at=now())
            )
            found = (
                await connection.execute(
                    select(api_keys.c.id).where(
                        api_keys.c.tenant_id == tenant_id, api_keys.c.id == key_id
                    )
                )
            ).first()
        return found is not None

    async def touch_api_key(self, key_id: str, when: datetime) -> None:
        """Record a use; concurrent requests may finish out of order, so it never moves back."""
        moment = utc(when)
        async with self._connections.writing() as connection:
            await connection.execute(
                update(api_keys)
                .where(
                    api_keys.c.id == key_id,
                    or_(api_keys.c.last_used_at.is_(None), api_keys.c.last_used_at < moment),
                )
                .values(last_used_at=moment)
            )

    async def retire_api_key(
        self, tenant_id: TenantId, key_id: str, *, replaced_by: str, expires_at: datetime
    ) -> bool:
        async with self._connections.writing() as connection:
            row = await first(
                connection,
                select(api_keys.c.expires_at)
                .where(
                    api_keys.c.tenant_id == tenant_id,
                    api_keys.c.id == key_id,
                    api_keys.c.revoked_at.is_(None),
                )
                .with_for_update(),
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
