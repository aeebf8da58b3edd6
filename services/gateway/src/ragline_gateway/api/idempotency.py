"""``Idempotency-Key``: a retried request gets the original response instead of running twice.

The key is claimed in the catalog (shared by every replica) before the request runs, scoped to
the tenant of the presented API key, and the finished response is stored under it for
``idempotency_ttl_s`` (24 h). The same key with another body is a client bug (``422``); the
same key while the first request still runs is ``409``. Responses a retry might change are
not stored (rate limited, conflicts, server errors): the claim is released, so the retry runs.

Middleware rather than a dependency because it must capture the complete response, streamed
answers included, whatever the route does; the route itself stays unaware of retries.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from datetime import UTC, datetime

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ragline_common.errors import RaglineError, UpstreamUnavailable
from ragline_common.tenancy import TenantId
from ragline_gateway.api.front_door import header, media_type, send_error, send_problem
from ragline_gateway.api.request_principal import request_principal
from ragline_gateway.context import GatewayContext
from ragline_gateway.ports.catalog import StoredResponse

_log = structlog.get_logger(__name__)

IDEMPOTENCY_HEADER = b"idempotency-key"
_VALID_KEY = re.compile(r"[\x21-\x7e]{1,255}")
"""Visible ASCII, at most 255 characters (a UUID is the usual choice)."""
_STORED_STATUSES = frozenset({400, 404, 410, 413, 415, 422})
"""Beside 2xx, the answers that a retry of the very same request would get again."""
_STORED_HEADERS = frozenset({b"content-type", b"location"})
MAX_STORED_BODY = 1024 * 1024
"""A larger response is passed on but not kept: the retry runs again instead."""


def _storable(status: int) -> bool:
    return 200 <= status < 300 or status in _STORED_STATUSES


def fingerprint(scope: Scope, body: bytes) -> str:
    """What makes two requests "the same": method, path, media type and body.

    A multipart body is compared without its boundary, which clients pick at random per
    attempt: the same file sent twice must match.
    """
    kind = media_type(scope)
    if kind == "multipart/form-data":
        content_type = (header(scope, b"content-type") or b"").decode("latin-1")
        boundary = re.search(r'boundary="?([^";]+)"?', content_type)
        if boundary:
            body = body.replace(boundary.group(1).encode("latin-1"), b"")
    digest = hashlib.sha256()
    for part in (scope.get("method", ""), scope.get("path", ""), kind):
        digest.update(part.encode("latin-1") + b"\0")
    digest.update(body)
    return digest.hexdigest()


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


class IdempotencyMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        context: Callable[[], GatewayContext],
        routes: frozenset[tuple[str, str]],
    ) -> None:
        self.app = app
        self.context = context
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw_key = header(scope, IDEMPOTENCY_HEADER) if scope["type"] == "http" else None
        if raw_key is None or (scope.get("method"), scope.get("path")) not in self.routes:
            await self.app(scope, receive, send)
            return
        key = raw_key.decode("latin-1")
        if not _VALID_KEY.fullmatch(key):
            await send_problem(
                send,
                status=400,
                code="invalid_idempotency_key",
                title="Bad request",
                detail="Idempotency-Key must be 1-255 visible ASCII characters.",
            )
            return
        context = self.context()
        tenant_id = await self._tenant(scope, context)
        if tenant_id is None:
            # No tenant key: the route refuses the request itself (401/403), nothing to keep.
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        try:
            claim = await context.catalog.claim_idempotency_key(
                tenant_id,
                key,
                fingerprint(scope, body),
                now=datetime.now(UTC),
                lease_s=context.settings.idempotency_lease_s,
                ttl_s=context.settings.idempotency_ttl_s,
            )
        except UpstreamUnavailable as exc:
            await send_error(send, exc)
            return
        match claim.outcome:
            case "mismatch":
                await send_problem(
                    send,
                    status=422,
                    code="idempotency_key_reused",
                    title="Idempotency key reused",
                    detail="This Idempotency-Key was used for a different request.",
                )
            case "running":
                await send_problem(
                    send,
                    status=409,
                    code="idempotency_key_in_use",
                    title="Conflict",
                    detail="A request with this Idempotency-Key is still running; retry later.",
                    headers=[(b"retry-after", b"1")],
                )
            case "done":
                assert claim.response is not None
                await self._replay(send, claim.response)
            case "claimed":
                await self._run(scope, body, receive, send, context, tenant_id, key)

    async def _tenant(self, scope: Scope, context: GatewayContext) -> TenantId | None:
        """The tenant of the request's key; ``None`` for the operator or a refusal, which the
        route's dependency then reports (and counts) itself."""
        try:
            principal = await request_principal(scope, context)
        except RaglineError:
            return None
        return principal.tenant_id

    async def _replay(self, send: Send, response: StoredResponse) -> None:
        headers = [
            (name.encode("latin-1"), value.encode("latin-1")) for name, value in response.headers
        ]
        headers += [
            (b"content-length", str(len(response.body)).encode()),
            (b"idempotent-replayed", b"true"),
        ]
        await send(
            {"type": "http.response.start", "status": response.status_code, "headers": headers}
        )
        await send({"type": "http.response.body", "body": response.body})

    async def _run(
        self,
        scope: Scope,
        body: bytes,
        receive: Receive,
        send: Send,
        context: GatewayContext,
        tenant_id: TenantId,
        key: str,
    ) -> None:
        delivered = False

        async def replay_body() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            # The body is consumed; what follows is the client going away (streamed answers
            # watch for it to stop generating), so wait for the real event.
            return await receive()

        status = 0
        streamed = False
        kept_headers: list[tuple[str, str]] = []
        chunks: list[bytes] = []
        size = 0

        async def capture(message: Message) -> None:
            nonlocal status, size, streamed
            if message["type"] == "http.response.start":
                status = message["status"]
                streamed = any(
                    name.lower() == b"content-type" and value.startswith(b"text/event-stream")
                    for name, value in message.get("headers", [])
                )
                kept_headers.extend(
                    (name.decode("latin-1"), value.decode("latin-1"))
                    for name, value in message.get("headers", [])
                    if name.lower() in _STORED_HEADERS
                )
            elif message["type"] == "http.response.body":
                chunk = message.get("body", b"")
                size += len(chunk)
                if size <= MAX_STORED_BODY:
                    chunks.append(chunk)
            await send(message)

        try:
            await self.app(scope, replay_body, capture)
        except BaseException:
            await self._release(context, tenant_id, key)
            raise
        # A stream is not kept: its events were timed to a live client, and a retry of a
        # stream that broke off wants a new answer, not half of the old one.
        if _storable(status) and size <= MAX_STORED_BODY and not streamed:
            try:
                await context.catalog.complete_idempotency_key(
                    tenant_id, key, StoredResponse(status, kept_headers, b"".join(chunks))
                )
            except RaglineError:
                # The client has its answer; a retry finds the claim and, after the lease, runs.
                _log.warning("idempotency_store_failed", tenant_id=tenant_id)
        else:
            await self._release(context, tenant_id, key)

    async def _release(self, context: GatewayContext, tenant_id: TenantId, key: str) -> None:
        try:
            await context.catalog.release_idempotency_key(tenant_id, key)
        except RaglineError:
            # The claim then expires with its lease; a retry waits at most that long.
            _log.warning("idempotency_release_failed", tenant_id=tenant_id)
