"""Per-tenant rate limits and quotas: the operator's overrides over the gateway's defaults.

Rate limits count per key *and* per tenant, in separate ``ingest`` and ``query`` buckets, so
one leaked key cannot spend its tenant's whole allowance unnoticed and one busy key of a
tenant does not starve a second one beyond the tenant total. Quotas are checked before work
is accepted; they are as exact as the catalog's last commit, so requests racing each other
may overshoot a quota by at most the number running at once (see ADR 0012).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, Protocol

import structlog

from ragline_common.errors import QuotaExceeded, RateLimited, UpstreamUnavailable
from ragline_common.tenancy import TenantId
from ragline_gateway.metrics import RATE_LIMITER_UNAVAILABLE, REQUESTS_REFUSED
from ragline_gateway.ports.catalog import DocumentDraft, DocumentStore, TenantLimits, UsageTotals
from ragline_gateway.ports.rate_limiter import RateLimitDecision, RateLimiter
from ragline_gateway.settings import GatewaySettings

_log = structlog.get_logger(__name__)

Bucket = Literal["ingest", "query"]
"""The tenant buckets: each has a per-tenant limit the operator may override."""
GuardBucket = Literal["admin", "unauthenticated"]
"""Buckets with one gateway-wide limit: tenant and dead-letter management per principal (the
operator, or one admin key), and failed authentications per client address."""
WINDOW_S = 60
_LIMITER_RETRY_AFTER_S = 5.0


@dataclass(frozen=True)
class EffectiveLimits:
    """What binds a tenant now: its overrides where set, else the gateway's defaults."""

    query_per_minute: int
    ingest_per_minute: int
    max_documents: int | None
    max_stored_bytes: int | None
    max_llm_tokens_per_day: int | None

    @classmethod
    def of(cls, overrides: TenantLimits, settings: GatewaySettings) -> EffectiveLimits:
        def pick(value: int | None, default: int | None) -> int | None:
            return default if value is None else value

        return cls(
            query_per_minute=overrides.query_per_minute or settings.query_per_minute,
            ingest_per_minute=overrides.ingest_per_minute or settings.ingest_per_minute,
            max_documents=pick(overrides.max_documents, settings.quota_documents),
            max_stored_bytes=pick(overrides.max_stored_bytes, settings.quota_stored_bytes),
            max_llm_tokens_per_day=pick(
                overrides.max_llm_tokens_per_day, settings.quota_llm_tokens_per_day
            ),
        )

    def per_minute(self, bucket: Bucket) -> int:
        return self.ingest_per_minute if bucket == "ingest" else self.query_per_minute


class LimitOverrides(Protocol):
    """Where a tenant's overrides are read: the key directory, a short-lived cache of the catalog
    (a tenant unknown there has none)."""

    async def tenant_limits(self, tenant_id: TenantId) -> TenantLimits: ...


async def effective_limits(
    overrides: LimitOverrides, settings: GatewaySettings, tenant_id: TenantId
) -> EffectiveLimits:
    """What binds the tenant now, as every door (REST, the queue drop) reads it."""
    return EffectiveLimits.of(await overrides.tenant_limits(tenant_id), settings)


def policy_headers(
    bucket: Bucket | GuardBucket, limit: int, decision: RateLimitDecision | None
) -> dict[str, str]:
    """IETF draft-ietf-httpapi-ratelimit-headers: the policy, and what is left of it."""
    headers = {"RateLimit-Policy": f'"{bucket}";q={limit};w={WINDOW_S}'}
    if decision is not None:
        headers["RateLimit"] = f'"{bucket}";r={decision.remaining};t={round(decision.reset_s)}'
    return headers


async def enforce_rate_limit(
    limiter: RateLimiter,
    *,
    bucket: Bucket,
    key_id: str | None,
    tenant_id: TenantId,
    limit: int,
    failure_mode: Literal["open", "closed"],
) -> dict[str, str]:
    """Count one request; the headers to send, or ``RateLimited`` / ``UpstreamUnavailable``."""
    return await count_request(
        limiter,
        bucket=bucket,
        counters=(f"key:{key_id}", f"tenant:{tenant_id}"),
        limit=limit,
        failure_mode=failure_mode,
    )


async def count_request(
    limiter: RateLimiter,
    *,
    bucket: Bucket | GuardBucket,
    counters: Sequence[str],
    limit: int,
    failure_mode: Literal["open", "closed"],
) -> dict[str, str]:
    """Count one request on each counter of ``bucket``; refused when any is past ``limit``."""
    try:
        decisions = [
            await limiter.hit(f"{bucket}:{counter}", limit=limit, window_s=WINDOW_S)
            for counter in counters
        ]
    except UpstreamUnavailable:
        RATE_LIMITER_UNAVAILABLE.labels(failure_mode).inc()
        _log.warning("rate_limiter_unavailable", failure_mode=failure_mode, bucket=bucket)
        if failure_mode == "open":
            return policy_headers(bucket, limit, None)
        raise UpstreamUnavailable(
            "Rate limits cannot be checked right now; retry shortly.",
            retry_after_s=_LIMITER_RETRY_AFTER_S,
            code="rate_limiter_unavailable",
        ) from None
    tightest = min(decisions, key=lambda d: (d.allowed, d.remaining))
    headers = policy_headers(bucket, limit, tightest)
    if not all(decision.allowed for decision in decisions):
        REQUESTS_REFUSED.labels("rate_limited").inc()
        raise RateLimited(
            f"Rate limit for {bucket} exceeded; retry later.",
            retry_after_s=tightest.retry_after_s,
            headers=headers,
        )
    return headers


async def enforce_upload_quota(
    tenant_id: TenantId,
    draft: DocumentDraft,
    *,
    overrides: LimitOverrides,
    documents: DocumentStore,
    settings: GatewaySettings,
) -> None:
    """The storage quotas of an upload, at either door: a REST upload and a queue-drop message
    are held to the same limits, read the same way, by this one function (ADR 0012)."""
    limits = await effective_limits(overrides, settings, tenant_id)
    await check_upload_quota(documents, tenant_id, limits, draft)


async def check_upload_quota(
    catalog: DocumentStore, tenant_id: TenantId, limits: EffectiveLimits, draft: DocumentDraft
) -> None:
    """Refuse an upload that would take the tenant past its documents or bytes quota, given the
    limits that bind it (the doors call :func:`enforce_upload_quota`).

    A new version under an existing external id replaces the old one: it adds no document and
    only the difference in size.
    """
    if limits.max_documents is None and limits.max_stored_bytes is None:
        return
    usage = await catalog.storage_usage(tenant_id)
    existing = (
        await catalog.find_document_by_external_id(tenant_id, draft.external_id)
        if draft.external_id is not None
        else None
    )
    documents = usage.documents + (0 if existing is not None else 1)
    stored = usage.stored_bytes + draft.size_bytes - (existing.size_bytes if existing else 0)
    if limits.max_documents is not None and documents > limits.max_documents:
        REQUESTS_REFUSED.labels("quota_exceeded").inc()
        raise QuotaExceeded(
            f"The tenant's quota of {limits.max_documents} documents is used up; "
            "delete documents or ask the operator for more."
        )
    if limits.max_stored_bytes is not None and stored > limits.max_stored_bytes:
        REQUESTS_REFUSED.labels("quota_exceeded").inc()
        raise QuotaExceeded(
            f"This upload would exceed the tenant's storage quota of "
            f"{limits.max_stored_bytes} bytes ({usage.stored_bytes} in use)."
        )


def _until_next_utc_day(now: datetime) -> float:
    tomorrow = (now.astimezone(UTC) + timedelta(days=1)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    return (tomorrow - now).total_seconds()


async def check_token_quota(
    catalog: UsageTotals, tenant_id: TenantId, limits: EffectiveLimits, *, now: datetime
) -> None:
    """Refuse generation once the tenant's LLM tokens of the (UTC) day are used up."""
    if limits.max_llm_tokens_per_day is None:
        return
    used = await catalog.tokens_used_on(tenant_id, now.astimezone(UTC).date())
    if used >= limits.max_llm_tokens_per_day:
        REQUESTS_REFUSED.labels("quota_exceeded").inc()
        raise QuotaExceeded(
            f"The tenant's {limits.max_llm_tokens_per_day} LLM tokens for today are used up.",
            retry_after_s=_until_next_utc_day(now),
        )
