"""Request middleware: request id, one canonical log line and metrics per request.

Pure ASGI (not ``BaseHTTPMiddleware``) so streamed responses pass through unbuffered.

The tenant becomes known only inside the app, when authentication (gateway) or an internal
route (retrieval, generation) records it as ``request.state.tenant_id``. The request state this
middleware installs notices that assignment and binds the tenant to the log context and the
request's server span at once (:func:`~ragline_common.observability.tenancy.bind_tenant`), so
the spans and log lines that follow carry it without each route repeating the bookkeeping.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import structlog
from opentelemetry import trace
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ragline_common.http.telemetry import QUIET_PATHS
from ragline_common.ids import new_id
from ragline_common.observability.metrics import HTTP_LATENCY, HTTP_REQUESTS, tenant_label
from ragline_common.observability.tenancy import bind_tenant

_log = structlog.get_logger("ragline.http")


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


class _RequestState(dict[str, Any]):
    """``scope["state"]`` that binds the tenant the moment a handler records it."""

    def __init__(self, initial: Mapping[str, Any], server_span: trace.Span) -> None:
        super().__init__(initial)
        self._server_span = server_span

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        if key == "tenant_id" and value:
            bind_tenant(str(value), self._server_span)


class RequestObservabilityMiddleware:
    def __init__(self, app: ASGIApp, *, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = new_id("req")
        status_holder = {"status": 500}
        started = time.perf_counter()

        async def send_with_request_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        # Inside FastAPI's request telemetry: the current span is the server span.
        scope["state"] = _RequestState(scope.get("state") or {}, trace.get_current_span())
        structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            await self.app(scope, receive, send_with_request_id)
        finally:
            elapsed = time.perf_counter() - started
            route = _route_template(scope)
            method = scope.get("method", "")
            status = status_holder["status"]
            tenant_id = scope["state"].get("tenant_id")
            tenant = tenant_label(str(tenant_id) if tenant_id else None)
            HTTP_REQUESTS.labels(self.service, method, route, str(status), tenant).inc()
            HTTP_LATENCY.labels(self.service, method, route, tenant).observe(elapsed)
            if scope.get("path") not in QUIET_PATHS:
                _log.info(
                    "http_request",
                    method=method,
                    route=route,
                    status=status,
                    duration_ms=round(elapsed * 1000, 2),
                    tenant_id=tenant_id,
                )
            structlog.contextvars.unbind_contextvars("request_id", "tenant_id")
