"""Key and tenant-limit lookups with a cache no older than one second.

Every request needs its key's record and its tenant's limits; reading both from the catalog
each time is two queries per request. A replica may remember them for ``ttl_s`` (at most one
second, enforced by the settings), which bounds how long a revocation, a deleted tenant or a
changed limit can go unnoticed on *other* replicas. This replica forgets at once: the routes
that change keys or tenants call :meth:`KeyDirectory.forget_tenant`. A TTL instead of a Redis
pub/sub invalidation keeps the embedded mode and the microservices mode on one code path, and
a lost invalidation message can never leave a revoked key working.

It also remembers which client addresses failed to authenticate too often. The count itself
lives in the rate limiter (Redis, shared by the replicas); the verdict is kept here so that a
refused address's next requests are refused before any key is looked at, which is what
throttles guessing. Another replica learns the verdict from that address's next failure there:
at most one more attempt per replica and window.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Generic, TypeVar

import structlog

from ragline_common.errors import UpstreamUnavailable
from ragline_common.tenancy import TenantId
from ragline_gateway.ports.catalog import ApiKeyRecord, TenantDirectory, TenantLimits

_log = structlog.get_logger(__name__)
_MAX_ENTRIES = 50_000
K = TypeVar("K")
V = TypeVar("V")


class _TtlCache(Generic[K, V]):
    """Values remembered for ``ttl_s``, each tagged with the tenant it belongs to."""

    def __init__(self, ttl_s: float) -> None:
        self._ttl_s = ttl_s
        self._entries: dict[K, tuple[V, TenantId | None, float]] = {}

    def get(self, key: K) -> tuple[bool, V | None]:
        entry = self._entries.get(key)
        if entry is None or time.monotonic() - entry[2] >= self._ttl_s:
            return False, None
        return True, entry[0]

    def put(self, key: K, value: V, tenant_id: TenantId | None) -> None:
        if self._ttl_s <= 0:
            return
        if len(self._entries) >= _MAX_ENTRIES:
            self._entries.clear()  # a burst of distinct keys: start over rather than grow
        self._entries[key] = (value, tenant_id, time.monotonic())

    def forget_tenant(self, tenant_id: TenantId) -> None:
        self._entries = {k: e for k, e in self._entries.items() if e[1] != tenant_id}


class KeyDirectory:
    """What :func:`~ragline_gateway.domain.authentication.authenticate` needs, cached."""

    def __init__(self, catalog: TenantDirectory, *, ttl_s: float, touch_interval_s: float) -> None:
        self._catalog = catalog
        self._touch_interval_s = touch_interval_s
        self._keys: _TtlCache[str, ApiKeyRecord | None] = _TtlCache(ttl_s)
        self._limits: _TtlCache[TenantId, TenantLimits] = _TtlCache(ttl_s)
        self._touched: dict[str, float] = {}
        self._refused_until: dict[str, float] = {}

    async def find_api_key(self, key_hash: str) -> ApiKeyRecord | None:
        hit, record = self._keys.get(key_hash)
        if hit:
            return record
        record = await self._catalog.find_api_key(key_hash)
        self._keys.put(key_hash, record, record.tenant_id if record is not None else None)
        return record

    async def tenant_limits(self, tenant_id: TenantId) -> TenantLimits:
        """The tenant's overrides; an unknown tenant (deleted meanwhile) has none."""
        hit, limits = self._limits.get(tenant_id)
        if hit and limits is not None:
            return limits
        limits = await self._catalog.get_tenant_limits(tenant_id) or TenantLimits()
        self._limits.put(tenant_id, limits, tenant_id)
        return limits

    def forget_tenant(self, tenant_id: TenantId) -> None:
        """Drop what this replica remembers of a tenant (its keys changed, or it is gone)."""
        self._keys.forget_tenant(tenant_id)
        self._limits.forget_tenant(tenant_id)

    def refuse_address(self, address: str, for_s: float) -> None:
        """Refuse ``address`` for ``for_s`` seconds without authenticating its requests."""
        now = time.monotonic()
        if len(self._refused_until) >= _MAX_ENTRIES:
            self._refused_until = {a: t for a, t in self._refused_until.items() if t > now}
            if len(self._refused_until) >= _MAX_ENTRIES:
                self._refused_until.clear()  # a flood of addresses: their counts still bind
        self._refused_until[address] = now + for_s

    def address_refused_for(self, address: str) -> float | None:
        """Seconds left of the address's refusal, or None when it may try to authenticate."""
        until = self._refused_until.get(address)
        if until is None:
            return None
        left = until - time.monotonic()
        if left <= 0:
            del self._refused_until[address]
            return None
        return left

    async def touch(self, key_id: str, when: datetime) -> None:
        """Record a key's use in the catalog, at most once per interval on this replica."""
        now = time.monotonic()
        last = self._touched.get(key_id)
        if last is not None and now - last < self._touch_interval_s:
            return
        if len(self._touched) >= _MAX_ENTRIES:
            self._touched.clear()
        self._touched[key_id] = now
        try:
            await self._catalog.touch_api_key(key_id, when)
        except UpstreamUnavailable:
            # Bookkeeping only: a catalog hiccup must not fail a request that is authorised.
            _log.warning("key_touch_failed", key_id=key_id)
