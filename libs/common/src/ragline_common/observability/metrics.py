"""Prometheus metrics shared across services.

One registry per process (several services may share a process), so metric families are defined
once here and labelled by ``service``. Labels never hold document, job, chunk or request ids:
cardinality stays bounded. The one id-like label is the tenant, which operators need (requests,
tokens and cost per tenant); :func:`tenant_label` caps how many distinct tenants one process
reports, folding the rest into ``other``.

Service-specific families (for example the ingestion worker's) live in the service and register
on :data:`REGISTRY`; ``deploy/grafana`` dashboards and ``deploy/prometheus`` rules may only use
families some service defines (``tests/deploy/test_deploy_dashboards.py``).
"""

from __future__ import annotations

import threading

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

MAX_TENANT_LABELS = 1000
"""Distinct tenant label values one process reports before folding new tenants into ``other``."""
OTHER_TENANT = "other"
NO_TENANT = "none"

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

HTTP_REQUESTS = Counter(
    "ragline_http_requests",
    "HTTP requests served, by route template, status code and tenant.",
    ["service", "method", "route", "status", "tenant"],
    registry=REGISTRY,
)
HTTP_LATENCY = Histogram(
    "ragline_http_request_duration_seconds",
    "HTTP request latency by route template and tenant.",
    ["service", "method", "route", "tenant"],
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
MESSAGES_HANDLED = Counter(
    "ragline_messages_handled",
    "Broker messages handled, by queue and outcome (ack, retry, dead_letter, requeue, dropped).",
    ["queue", "outcome"],
    registry=REGISTRY,
)
QUEUE_MESSAGES = Gauge(
    "ragline_queue_messages",
    "Messages ready in a broker queue, sampled periodically by each process with a broker.",
    ["queue"],
    registry=REGISTRY,
)
QUEUE_WAIT = Histogram(
    "ragline_queue_wait_seconds",
    "Consumer lag: time from a message's (re)publication until a consumer started on it.",
    ["queue"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 15, 30, 60, 300, 900, 3600),
    registry=REGISTRY,
)
JOBS = Counter(
    "ragline_jobs",
    "Ingestion jobs entering a status (queued, processing, indexed, failed).",
    ["status"],
    registry=REGISTRY,
)
SEARCH_LATENCY = Histogram(
    "ragline_search_duration_seconds",
    "Search latency at the retrieval service boundary (embed + vector search), by outcome.",
    ["outcome"],
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
LLM_TOKENS = Counter(
    "ragline_llm_tokens",
    "LLM tokens by model, direction (input, output) and tenant.",
    ["model", "direction", "tenant"],
    registry=REGISTRY,
)
LLM_COST = Counter(
    "ragline_llm_cost_usd",
    "Estimated LLM cost in US dollars by model and tenant (from the configured prices).",
    ["model", "tenant"],
    registry=REGISTRY,
)
LLM_LATENCY = Histogram(
    "ragline_llm_request_duration_seconds",
    "LLM call latency by model and outcome (ok, error).",
    ["model", "outcome"],
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120),
    registry=REGISTRY,
)
EMBEDDING_TOKENS = Counter(
    "ragline_embedding_tokens",
    "Embedding prompt tokens of indexed documents, by model and tenant (the provider's count "
    "where it reports one, else the model's tokenizer or the MiniLM estimate).",
    ["model", "tenant"],
    registry=REGISTRY,
)
EMBEDDING_PROVIDER_TOKENS = Counter(
    "ragline_embedding_provider_tokens",
    "Prompt tokens sent to remote embedding providers (documents and queries), by model and "
    "source (reported by the provider, or estimated locally where it reports none).",
    ["model", "source"],
    registry=REGISTRY,
)
EMBEDDING_PROVIDER_REQUESTS = Counter(
    "ragline_embedding_requests",
    "Requests to remote embedding providers by model and outcome "
    "(ok, rate_limited, server_error, timeout, unreachable, rejected, invalid).",
    ["model", "outcome"],
    registry=REGISTRY,
)
_seen_tenants: set[str] = set()
_seen_lock = threading.Lock()


def tenant_label(tenant_id: str | None) -> str:
    """The label value for ``tenant_id``: itself while fewer than the cap are known, else other.

    Keeps one process's series count bounded even if tenants are created without end; a fleet
    with more tenants than the cap should raise it or read per-tenant usage from the catalog.
    """
    if not tenant_id:
        return NO_TENANT
    with _seen_lock:
        if tenant_id in _seen_tenants:
            return tenant_id
        if len(_seen_tenants) >= MAX_TENANT_LABELS:
            return OTHER_TENANT
        _seen_tenants.add(tenant_id)
        return tenant_id
