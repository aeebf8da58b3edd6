"""Counting what each tenant's answers cost: catalog totals (``GET /v1/usage``, quotas).

The gateway records usage because it owns the catalog and sees every answer of every tenant in
every deployment mode (generation may run in another process). Token and cost metrics come from
the model call itself (``observability.genai.llm_call`` in generation); here only answers are
counted, by tenant (capped by ``tenant_label``), mode and degradation.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from datetime import UTC, datetime
from typing import Protocol

import anyio
import structlog
from prometheus_client import Counter

from ragline_common.contracts.answer import AnswerEvent, DeltaEvent, DoneEvent, ErrorEvent, Usage
from ragline_common.errors import UpstreamUnavailable
from ragline_common.observability.metrics import REGISTRY, tenant_label
from ragline_common.tenancy import TenantId
from ragline_gateway.ports.catalog import UsageDelta

_log = structlog.get_logger(__name__)

ANSWERS = Counter(
    "ragline_answers",
    "Answers served, by tenant, mode (llm or extractive) and whether they degraded.",
    ["tenant", "mode", "degraded"],
    registry=REGISTRY,
)


class UsageLedger(Protocol):
    """The part of the catalog that keeps each tenant's daily usage totals."""

    async def record_usage(
        self, tenant_id: TenantId, delta: UsageDelta, *, when: datetime
    ) -> None: ...


RECORD_TIMEOUT_S = 3.0
"""How long a stream's record may hold up its end (within the response's cleanup budget)."""


def micro_usd(usage: Usage) -> int:
    return round(usage.estimated_cost_usd * 1_000_000)


async def record_usage(
    ledger: UsageLedger,
    tenant_id: TenantId,
    usage: Usage,
    *,
    mode: str,
    degraded: bool,
    count_answer: bool = True,
) -> None:
    """Add one model call to the tenant's totals. A catalog outage loses this record (logged)
    rather than failing an answer that was already delivered."""
    if count_answer:
        ANSWERS.labels(tenant_label(tenant_id), mode, str(degraded).lower()).inc()
    delta = UsageDelta(
        model=usage.model,
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        cost_micro_usd=micro_usd(usage),
        degraded=degraded,
    )
    try:
        await ledger.record_usage(tenant_id, delta, when=datetime.now(UTC))
    except UpstreamUnavailable:
        _log.warning("usage_not_recorded", model=usage.model, tokens=usage.prompt_tokens)
    except Exception:  # e.g. the tenant was erased meanwhile: never fail a delivered answer
        _log.exception("usage_not_recorded", model=usage.model, tokens=usage.prompt_tokens)


async def billed(
    ledger: UsageLedger, tenant_id: TenantId, events: AsyncGenerator[AnswerEvent, None]
) -> AsyncGenerator[AnswerEvent, None]:
    """``events`` passed through, and their usage recorded exactly once however they end.

    A finished answer is recorded from its ``done`` event, before that event goes on (a client
    leaving right after it must not make it unrecorded). A stream that ends otherwise (the
    client hung up, which closes this generator; the model or a hop failed) is recorded from
    the last usage an event carried: the tokens generated for it were spent all the same, and
    a client could otherwise stream answers for free by hanging up before the end.
    """
    spent: Usage | None = None
    recorded = False
    try:
        async with aclosing(events):  # the model call stops before the usage is written
            async for event in events:
                if isinstance(event, DoneEvent):
                    recorded = True
                    await _record_shielded(
                        ledger, tenant_id, event.usage, mode=event.mode, degraded=event.degraded
                    )
                elif isinstance(event, DeltaEvent | ErrorEvent) and event.usage is not None:
                    spent = event.usage
                yield event
    finally:
        if not recorded and spent is not None:
            await _record_shielded(ledger, tenant_id, spent, mode="llm", degraded=False)


async def _record_shielded(
    ledger: UsageLedger, tenant_id: TenantId, usage: Usage, *, mode: str, degraded: bool
) -> None:
    """Shielded: a client that leaves cancels the response, and this runs inside that scope."""
    with anyio.CancelScope(shield=True), anyio.move_on_after(RECORD_TIMEOUT_S) as scope:
        await record_usage(ledger, tenant_id, usage, mode=mode, degraded=degraded)
    if scope.cancelled_caught:
        _log.warning("usage_not_recorded", model=usage.model, tokens=usage.prompt_tokens)
