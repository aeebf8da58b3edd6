"""The tenants-and-keys role of the catalog: who exists, which keys they hold, what binds them.

Authentication reads it on every request (through the key directory's cache) and the operator's
routes change it; nothing here describes what a tenant has stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ragline_common.tenancy import Scope, TenantId


@dataclass(frozen=True)
class TenantRecord:
    id: TenantId
    name: str
    created_at: datetime


@dataclass(frozen=True)
class ApiKeyRecord:
    id: str
    tenant_id: TenantId
    name: str
    prefix: str
    scopes: frozenset[Scope]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    replaced_by: str | None = None
    """The key that replaced this one in a rotation; this one lives out its grace period."""


@dataclass(frozen=True)
class TenantLimits:
    """An operator's overrides of one tenant's rate limits and quotas (``None``: the default)."""

    query_per_minute: int | None = None
    ingest_per_minute: int | None = None
    max_documents: int | None = None
    max_stored_bytes: int | None = None
    max_llm_tokens_per_day: int | None = None


class TenantDirectory(Protocol):
    async def create_tenant(self, name: str) -> TenantRecord: ...

    async def get_tenant(self, tenant_id: TenantId) -> TenantRecord | None: ...

    async def list_tenants(self) -> list[TenantRecord]: ...

    async def delete_tenant(self, tenant_id: TenantId) -> bool:
        """Remove every catalog row of the tenant (keys, documents, contents, jobs, usage)."""

    async def get_tenant_limits(self, tenant_id: TenantId) -> TenantLimits | None:
        """The tenant's overrides, or ``None`` when there is no such tenant."""

    async def set_tenant_limits(self, tenant_id: TenantId, limits: TenantLimits) -> bool: ...

    async def create_api_key(
        self,
        tenant_id: TenantId,
        *,
        name: str,
        prefix: str,
        key_hash: str,
        scopes: frozenset[Scope],
        expires_at: datetime | None,
    ) -> ApiKeyRecord: ...

    async def find_api_key(self, key_hash: str) -> ApiKeyRecord | None:
        """Look a key up by its hash (the only lookup not scoped by tenant: it finds the tenant)."""

    async def list_api_keys(self, tenant_id: TenantId) -> list[ApiKeyRecord]: ...

    async def revoke_api_key(self, tenant_id: TenantId, key_id: str) -> bool: ...

    async def touch_api_key(self, key_id: str, when: datetime) -> None: ...

    async def retire_api_key(
        self, tenant_id: TenantId, key_id: str, *, replaced_by: str, expires_at: datetime
    ) -> bool:
        """Mark a rotated key: it expires at ``expires_at`` (or earlier, if it already did)."""
