"""The usage role of the catalog: what each tenant's answers and indexing consumed, per UTC day
and model."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from ragline_common.tenancy import TenantId


@dataclass(frozen=True)
class UsageDelta:
    """What one answer consumed, added to the tenant's row for the day it finished."""

    model: str
    prompt_tokens: int
    completion_tokens: int
    cost_micro_usd: int
    degraded: bool


@dataclass(frozen=True)
class UsageRecord:
    """A tenant's totals for one UTC day and one model."""

    day: date
    model: str
    requests: int
    degraded_requests: int
    prompt_tokens: int
    completion_tokens: int
    cost_micro_usd: int
    embedding_tokens: int = 0
    """Indexing's embedding tokens (the model is then the embedder): outside the LLM quota."""


class UsageTotals(Protocol):
    async def record_usage(self, tenant_id: TenantId, delta: UsageDelta, *, when: datetime) -> None:
        """Add one answer's tokens and cost to the tenant's totals for ``when``'s UTC day."""

    async def usage_between(
        self, tenant_id: TenantId, *, first_day: date, last_day: date
    ) -> list[UsageRecord]:
        """The tenant's daily totals from ``first_day`` to ``last_day`` (inclusive, UTC days)."""

    async def tokens_used_on(self, tenant_id: TenantId, day: date) -> int:
        """Prompt plus completion tokens of the tenant on one UTC day, all models (quotas)."""
