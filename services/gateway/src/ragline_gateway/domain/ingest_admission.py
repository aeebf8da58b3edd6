"""The per-tenant gate of the queue drop: the same ingest rate limit and backlog share as REST.

A REST upload passes the tenant's ``ingest`` rate limit (``deps.py``) and the backpressure check
(``api/documents.py``); a message on the public intake queue must pass the very same ones, with
the same counters, or the queue drop is a way around them (one tenant filling the backlog for
everyone). The buckets are shared: a tenant flooding both doors spends one allowance.

What the queue drop does with a refusal is its own business (a delayed retry, see
:mod:`ragline_gateway.consumers.intake`); this module only decides.
"""

from __future__ import annotations

from dataclasses import dataclass

from ragline_common.tenancy import TenantId
from ragline_gateway.domain.backpressure import IngestBackpressure
from ragline_gateway.domain.key_directory import KeyDirectory
from ragline_gateway.domain.limits import effective_limits, enforce_rate_limit
from ragline_gateway.ports.rate_limiter import RateLimiter
from ragline_gateway.settings import GatewaySettings


@dataclass(frozen=True)
class IngestAdmission:
    keys: KeyDirectory
    limiter: RateLimiter
    backpressure: IngestBackpressure
    settings: GatewaySettings

    async def admit(self, tenant_id: TenantId, key_id: str | None) -> None:
        """Count one upload of the tenant (through key ``key_id``) and check its backlog share.

        Raises ``RateLimited`` over the rate or the tenant's backlog share, and
        ``UpstreamUnavailable`` when the whole backlog is full or (failing closed) the limiter
        store is down.
        """
        limits = await effective_limits(self.keys, self.settings, tenant_id)
        await enforce_rate_limit(
            self.limiter,
            bucket="ingest",
            key_id=key_id,
            tenant_id=tenant_id,
            limit=limits.per_minute("ingest"),
            failure_mode=self.settings.rate_limit_failure_mode,
        )
        await self.backpressure.check(tenant_id)
