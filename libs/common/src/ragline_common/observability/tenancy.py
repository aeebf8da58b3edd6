"""Recording which tenant a request or message belongs to, for logs, spans and metrics at once.

The tenant is known only after authentication (gateway) or after reading a trusted request or
message body (internal services, the worker). Binding it to the structlog context makes every
later log line carry ``tenant_id``; :class:`~ragline_common.observability.tracing.
TenantSpanProcessor` copies it onto every later span; and the current span, already started
before the tenant was known, is tagged here.
"""

from __future__ import annotations

import structlog
from opentelemetry import trace

from ragline_common.observability.tracing import TENANT_ATTRIBUTE


def bind_tenant(tenant_id: str, *spans: trace.Span) -> None:
    """Bind ``tenant_id`` to the log context and tag the current span (and ``spans``) with it."""
    structlog.contextvars.bind_contextvars(tenant_id=tenant_id)
    for span in (trace.get_current_span(), *spans):
        if span.is_recording():
            span.set_attribute(TENANT_ATTRIBUTE, tenant_id)
