"""ASGI middleware at the gateway's front door: security headers and content-type checks.

Pure ASGI (not ``BaseHTTPMiddleware``) so streamed answers pass through unbuffered, and so the
headers reach every response, including the ones inner middleware produce on its own (413).
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ragline_common.errors import RaglineError
from ragline_common.problem import PROBLEM_MEDIA_TYPE, problem_fields, retry_headers

RESPONSE_HEADERS_STATE = "ragline_response_headers"
"""Key in the ASGI ``state`` under which routes leave headers for their response."""

SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"strict-transport-security", b"max-age=63072000; includeSubDomains"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
)
_API_CSP = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")
_DOC_PATHS = frozenset({"/docs", "/redoc", "/docs/oauth2-redirect"})
"""The interactive docs load scripts and styles; everywhere else nothing may load at all."""


def header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return bytes(value)
    return None


def media_type(scope: Scope) -> str:
    raw = header(scope, b"content-type") or b""
    return raw.split(b";")[0].strip().lower().decode("latin-1")


async def send_problem(
    send: Send,
    *,
    status: int,
    code: str,
    title: str,
    detail: str,
    headers: Iterable[tuple[bytes, bytes]] = (),
) -> None:
    """An RFC 9457 problem from middleware, the body built as the app's own (``problem.py``)."""
    body = json.dumps(problem_fields(status=status, code=code, title=title, detail=detail))
    encoded = body.encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
                (b"content-length", str(len(encoded)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": encoded})


async def send_error(send: Send, exc: RaglineError) -> None:
    """``exc`` answered from middleware, outside the app's exception handlers, as they would
    answer it: its problem body and its retry headers."""
    headers = [
        (name.lower().encode("latin-1"), value.encode("latin-1"))
        for name, value in (retry_headers(exc) or {}).items()
    ]
    await send_problem(
        send, status=exc.status, code=exc.code, title=exc.title, detail=exc.detail, headers=headers
    )


class FrontDoorHeadersMiddleware:
    """Security headers on every response, plus headers a route left in the request state
    (rate-limit headers must reach error responses too, which a route cannot set directly)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        path = scope.get("path", "")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                extra = list(SECURITY_HEADERS)
                if path not in _DOC_PATHS:
                    extra.append(_API_CSP)
                if path.startswith("/v1/"):
                    extra.append((b"cache-control", b"no-store"))
                for name, value in state.get(RESPONSE_HEADERS_STATE, {}).items():
                    extra.append((name.lower().encode("latin-1"), value.encode("latin-1")))
                headers.extend((name, value) for name, value in extra if name not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


class ContentTypeMiddleware:
    """Requests with a body must say it is JSON (or a multipart upload where one is accepted).

    Checked before anything parses the body: a form or an XML body posted to a JSON route is a
    415, not a confusing validation error or, worse, a parser reached with the wrong input.
    """

    _WITH_BODY = frozenset({"POST", "PUT", "PATCH"})

    def __init__(self, app: ASGIApp, *, multipart_paths: frozenset[str]) -> None:
        self.app = app
        self.multipart_paths = multipart_paths

    def _has_body(self, scope: Scope) -> bool:
        length = header(scope, b"content-length")
        if length is not None:
            return length.strip() not in (b"", b"0")
        return header(scope, b"transfer-encoding") is not None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope.get("method") not in self._WITH_BODY
            or not scope.get("path", "").startswith("/v1/")
            or not self._has_body(scope)
        ):
            await self.app(scope, receive, send)
            return
        declared = media_type(scope)
        allowed = {"application/json"}
        if scope.get("path") in self.multipart_paths:
            allowed.add("multipart/form-data")
        if declared not in allowed:
            await send_problem(
                send,
                status=415,
                code="unsupported_media_type",
                title="Unsupported media type",
                detail=f"Send the body as {' or '.join(sorted(allowed))}.",
            )
            return
        await self.app(scope, receive, send)
