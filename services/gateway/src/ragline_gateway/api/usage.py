"""``GET /v1/usage``: the calling tenant's language model and embedding usage by day and model.

The tenant comes from the API key, like every other read: there is no way to ask for another
tenant's usage. Like the documents, it needs a ``query`` or ``admin`` key: what a tenant asks,
and how much, is not for an ingest-only producer key to see. Days are UTC calendar days, the
unit quotas count in.

Indexing's embedding tokens appear under the embedding model, in ``embedding_tokens``: such a
row counts no requests and no prompt or completion tokens, so the request count and the daily
LLM-token quota are what they were before embeddings were recorded.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from ragline_common.errors import ValidationFailed
from ragline_gateway.deps import ContentReaderTenant, ContextDep

router = APIRouter(prefix="/v1", tags=["usage"])

DEFAULT_DAYS = 30
MAX_DAYS = 366
EARLIEST = date(2000, 1, 1)
LATEST = date(9999, 1, 1)
"""Bounds of a day in a query: nothing was recorded earlier, and date arithmetic needs room."""


class UsageDayOut(BaseModel):
    day: date
    model: str
    requests: int
    degraded_requests: int
    prompt_tokens: int
    completion_tokens: int
    embedding_tokens: int
    estimated_cost_usd: float


class UsageTotals(BaseModel):
    requests: int
    degraded_requests: int
    prompt_tokens: int
    completion_tokens: int
    embedding_tokens: int
    estimated_cost_usd: float


class UsageOut(BaseModel):
    tenant_id: str
    start: date
    end: date
    days: list[UsageDayOut]
    totals: UsageTotals


@router.get(
    "/usage",
    response_model=UsageOut,
    summary="Tokens, requests and estimated cost of this tenant's answers and indexing, "
    "per UTC day and model",
)
async def usage(
    context: ContextDep,
    tenant_id: ContentReaderTenant,
    start: Annotated[
        date | None, Query(alias="from", ge=EARLIEST, le=LATEST, description="First day (UTC)")
    ] = None,
    end: Annotated[
        date | None, Query(alias="to", ge=EARLIEST, le=LATEST, description="Last day, inclusive")
    ] = None,
) -> UsageOut:
    last = end or datetime.now(UTC).date()
    first = start or last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last or (last - first).days >= MAX_DAYS:
        raise ValidationFailed(
            f"'from' must not be after 'to', and the range at most {MAX_DAYS} days.",
            code="bad_usage_range",
        )
    rows = await context.catalog.usage_between(tenant_id, first_day=first, last_day=last)
    micro = sum(row.cost_micro_usd for row in rows)
    return UsageOut(
        tenant_id=tenant_id,
        start=first,
        end=last,
        days=[
            UsageDayOut(
                day=row.day,
                model=row.model,
                requests=row.requests,
                degraded_requests=row.degraded_requests,
                prompt_tokens=row.prompt_tokens,
                completion_tokens=row.completion_tokens,
                embedding_tokens=row.embedding_tokens,
                estimated_cost_usd=row.cost_micro_usd / 1_000_000,
            )
            for row in rows
        ],
        totals=UsageTotals(
            requests=sum(row.requests for row in rows),
            degraded_requests=sum(row.degraded_requests for row in rows),
            prompt_tokens=sum(row.prompt_tokens for row in rows),
            completion_tokens=sum(row.completion_tokens for row in rows),
            embedding_tokens=sum(row.embedding_tokens for row in rows),
            estimated_cost_usd=micro / 1_000_000,
        ),
    )
