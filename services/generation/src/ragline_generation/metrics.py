"""Language model metrics of the generation service (the shared per-process registry).

Labelled by model and outcome only: per-tenant token and cost counters live with the usage
records in the gateway, which knows every answer's tenant in every deployment mode.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from ragline_common.observability.metrics import REGISTRY

LLM_CALLS = Counter(
    "ragline_llm_calls",
    "Language model calls by outcome (ok, a failure reason, or circuit_open when skipped).",
    ["model", "outcome"],
    registry=REGISTRY,
)
LLM_FIRST_TOKEN = Histogram(
    "ragline_llm_first_token_seconds",
    "From sending a streamed call to its first answer token.",
    ["model"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30),
    registry=REGISTRY,
)
LLM_CIRCUIT_OPEN = Gauge(
    "ragline_llm_circuit_open",
    "1 while the circuit breaker keeps calls away from the model.",
    ["model"],
    registry=REGISTRY,
)
