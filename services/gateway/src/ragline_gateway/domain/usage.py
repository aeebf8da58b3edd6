"""Counting what each tenant's answers cost: catalog totals (``GET /v1/usage``, quotas).

The gateway records usage because it owns the catalog and sees every answer of every tenant in
every deployment mode (generation may run in another process). Token and cost metrics come from
the model call itself (``observability.genai.llm_call`` in generation); here only answers are
counted, by tenant (capped by ``tenant_label``), mode and degradation.
"""

from __future__ import annotations

from datetime import UTC, datetime

import structlog
from prometheus_client import Counter

from ragline_common.contracts.answer import Usage
from ragline_common.errors import UpstreamUnavailable
from ragline_common.observability.metrics import REGISTRY, tenant_label
from ragline_common.ports.catalog import Catalog, UsageDelta
from ragline_common.tenancy import TenantId

_log = structlog.get_logger(__name__)

ANSWERS = Counter(
    "ragline_answers",
    "Answers served, by tenant, mode (llm or extractive) and whether they degraded.",
    ["tenant", "mode", "degraded"],
    registry=REGISTRY,
)


def micro_usd(usage: Usage) -> int:
    return round(usage.estimated_cost_usd * 1_000_000)


async def record_usage(
    catalog: Catalog,
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
        await catalog.record_usage(tenant_id, delta, when=datetime.now(UTC))
    except UpstreamUnavailable:
        _log.warning("usage_not_recorded", model=usage.model, tokens=usage.prompt_tokens)
    except Exception:  # e.g. the tenant was erased meanwhile: never fail a delivered answer
        _log.exception("usage_not_recorded", model=usage.model, tokens=usage.prompt_tokens)
