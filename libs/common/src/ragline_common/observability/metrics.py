"""Prometheus metrics shared across services.

One registry per process (several services may share a process), so metric families are defined
once here and labelled by ``service``. Labels never hold ids: cardinality stays bounded.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

HTTP_REQUESTS = Counter(
    "ragline_http_requests",
    "HTTP requests served, by route template and status class.",
    ["service", "method", "route", "status"],
    registry=REGISTRY,
)
HTTP_LATENCY = Histogram(
    "ragline_http_request_duration_seconds",
    "HTTP request latency by route template.",
    ["service", "method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=REGISTRY,
)
MESSAGES_HANDLED = Counter(
    "ragline_messages_handled",
    "Broker messages handled, by queue and outcome (ack, retry, dead_letter, requeue).",
    ["queue", "outcome"],
    registry=REGISTRY,
)
