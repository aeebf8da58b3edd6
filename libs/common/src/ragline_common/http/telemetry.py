"""Server spans for every HTTP request, from FastAPI's own OpenTelemetry support.

FastAPI (0.165+) starts the server span before Starlette's error middleware, continues the
caller's ``traceparent``, and names the span after the route it matched (``POST
/v1/search``). The ``opentelemetry-instrumentation-fastapi`` package this replaces wrapped the
app in three more middleware layers and matched every request against every route a second
time just to name its span: 0.1-0.2 ms per request, most of what tracing cost a search.

Only spans: metrics are Prometheus' (:mod:`ragline_common.observability.metrics`) and logs are
structlog's, and the per-operation spans (dependencies, endpoint, serialisation) would triple
the spans of every request without telling an operator more than the request span does.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from fastapi.telemetry import TelemetryConfig
from opentelemetry.trace import TracerProvider

QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
"""Probes and scrapes: most of the requests, none of the interest (no span, no log line)."""


def _quiet(scope: MutableMapping[str, Any]) -> bool:
    return scope.get("path") in QUIET_PATHS


def request_telemetry(tracer_provider: TracerProvider | None = None) -> TelemetryConfig:
    """``FastAPI(telemetry=...)``: request spans only, on the global provider by default."""
    return {
        "tracer_provider": tracer_provider,
        "tracing": True,
        "metrics": False,
        "logs": False,
        "operation_spans": False,
        # Exporters are ours (configure_tracing); FASTAPI_OTEL_AUTO_CONFIGURE must not add more.
        "auto_configure": False,
        "exclude": _quiet,
    }
