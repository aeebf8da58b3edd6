"""Gateway-only metric families (registered on the shared process registry)."""

from __future__ import annotations

from prometheus_client import Counter

from ragline_common.observability.metrics import REGISTRY

RATE_LIMITER_UNAVAILABLE = Counter(
    "ragline_gateway_rate_limiter_unavailable",
    "Requests that found the rate-limit store down, by the configured failure mode.",
    ["mode"],
    registry=REGISTRY,
)
REQUESTS_REFUSED = Counter(
    "ragline_gateway_requests_refused",
    "Requests refused at the front door, by reason (rate_limited, quota_exceeded, backlog).",
    ["reason"],
    registry=REGISTRY,
)
