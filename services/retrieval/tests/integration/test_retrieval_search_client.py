"""HttpSearchClient against the real internal route served by uvicorn on 127.0.0.1.

Proves the wire contract both ways, the error mapping (client errors stay client errors, a sick
or absent peer becomes 503), timeouts, and that the caller's trace context travels along.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from fastapi import Request, Response
from opentelemetry.sdk.trace import TracerProvider
from pydantic import SecretStr

from ragline_common.clients import HttpSearchClient
from ragline_common.contracts.search import SearchHit, SearchQuery, SearchResult
from ragline_common.errors import (
    NotFound,
    RaglineError,
    RateLimited,
    UpstreamUnavailable,
    ValidationFailed,
)
from ragline_common.http.ops import ops_router
from ragline_common.tenancy import TenantId
from ragline_retrieval.api.internal import internal_router
from ragline_testing.harness import problem_app, serve_asgi, unused_port

TOKEN = "internal-token-0123456789abcdef"
TENANT = TenantId("tenant_a")


class ScriptedSearch:
    """Echoes the tenant and query back, or fails the way a test asks it to."""

    def __init__(self) -> None:
        self.error: Exception | None = None
        self.delay_s = 0.0

    async def search(
        self, tenant_id: TenantId, query: SearchQuery, *, index_model: str | None = None
    ) -> SearchResult:
        await asyncio.sleep(self.delay_s)
        if self.error is not None:
            raise self.error
        hit = SearchHit(
            document_id="doc_1",
            chunk_id="0f8c2c36-5d37-4f4e-9a45-6c1f6a8e0c11",
            text=f"{tenant_id} asked {query.query}",
            score=0.75,
            metadata={"lang": "en", "nested": {"a": [1, 2]}},
            title="Handbook",
            source_name="handbook.pdf",
            version=2,
            chunk_index=5,
            heading_path=("A", "B"),
            page=3,
        )
        return SearchResult(results=[hit], mode="dense")


class Peer:
    def __init__(self, base_url: str, service: ScriptedSearch, seen: list[dict[str, str]]) -> None:
        self.base_url = base_url
        self.service = service
        self.seen_headers = seen


@pytest.fixture
async def peer() -> AsyncIterator[Peer]:
    service = ScriptedSearch()
    seen: list[dict[str, str]] = []
    secret = SecretStr(TOKEN)
    app = problem_app(
        internal_router(service=lambda: service, internal_token=lambda: secret), ops_router({})
    )

    @app.middleware("http")
    async def record_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        seen.append(dict(request.headers))
        return await call_next(request)

    async with serve_asgi(app) as base_url:
        yield Peer(base_url, service, seen)


async def call(peer: Peer, query: SearchQuery, *, token: str = TOKEN) -> SearchResult:
    client = HttpSearchClient(peer.base_url, SecretStr(token), timeout_s=5)
    try:
        return await client.search(TENANT, query)
    finally:
        await client.aclose()


async def test_a_search_round_trips_unchanged(peer: Peer) -> None:
    result = await call(peer, SearchQuery(query="refunds", filters={"lang": "en"}))

    (hit,) = result.results
    assert hit.text == "tenant_a asked refunds"
    assert hit.metadata == {"lang": "en", "nested": {"a": [1, 2]}}
    assert (hit.heading_path, hit.page, hit.version, hit.chunk_index) == (("A", "B"), 3, 2, 5)
    assert result.mode == "dense"


async def test_a_plain_string_token_is_accepted_too(peer: Peer) -> None:
    client = HttpSearchClient(peer.base_url, TOKEN, timeout_s=5)
    try:
        assert (await client.search(TENANT, SearchQuery(query="q"))).results
    finally:
        await client.aclose()


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            ValidationFailed("Search mode 'hybrid' is off.", code="mode_unavailable"),
            ValidationFailed,
        ),
        (ValidationFailed("Filter 'x' is bad.", code="invalid_filter"), ValidationFailed),
        (NotFound("No such document.", code="document_not_found"), NotFound),
    ],
)
async def test_client_errors_keep_their_class_code_and_detail(
    peer: Peer, error: RaglineError, expected: type[RaglineError]
) -> None:
    peer.service.error = error

    with pytest.raises(expected) as caught:
        await call(peer, SearchQuery(query="q"))

    assert caught.value.code == error.code
    assert caught.value.detail == error.detail
    assert caught.value.status == error.status


async def test_rate_limits_keep_their_retry_after(peer: Peer) -> None:
    peer.service.error = RateLimited("Slow down.", retry_after_s=7)

    with pytest.raises(RateLimited) as caught:
        await call(peer, SearchQuery(query="q"))

    assert caught.value.retry_after_s == 7
    assert caught.value.detail == "Slow down."


async def test_a_peer_crash_is_upstream_unavailable(peer: Peer) -> None:
    peer.service.error = RuntimeError("secret internals")

    with pytest.raises(UpstreamUnavailable) as caught:
        await call(peer, SearchQuery(query="q"))

    assert caught.value.status == 503
    assert "secret internals" not in caught.value.detail


async def test_a_peer_outage_keeps_its_retry_after(peer: Peer) -> None:
    peer.service.error = UpstreamUnavailable("Vector store down.", retry_after_s=9)

    with pytest.raises(UpstreamUnavailable) as caught:
        await call(peer, SearchQuery(query="q"))

    assert caught.value.retry_after_s == 9


async def test_a_rejected_internal_token_is_a_503_not_the_callers_401(peer: Peer) -> None:
    with pytest.raises(UpstreamUnavailable):
        await call(peer, SearchQuery(query="q"), token="not-the-token-0123456789")


async def test_a_slow_peer_times_out_as_upstream_unavailable(peer: Peer) -> None:
    peer.service.delay_s = 1.0
    client = HttpSearchClient(peer.base_url, SecretStr(TOKEN), timeout_s=0.2)
    started = time.monotonic()
    try:
        with pytest.raises(UpstreamUnavailable, match="in time"):
            await client.search(TENANT, SearchQuery(query="q"))
    finally:
        await client.aclose()
    assert time.monotonic() - started < 1.5


async def test_a_peer_that_is_down_fails_fast() -> None:
    client = HttpSearchClient(f"http://127.0.0.1:{unused_port()}", SecretStr(TOKEN), timeout_s=30)
    started = time.monotonic()
    try:
        with pytest.raises(UpstreamUnavailable, match="unreachable"):
            await client.search(TENANT, SearchQuery(query="q"))
        with pytest.raises(UpstreamUnavailable):
            await client.ping()
    finally:
        await client.aclose()
    assert time.monotonic() - started < 2.0


async def test_ping_succeeds_against_a_live_peer(peer: Peer) -> None:
    client = HttpSearchClient(peer.base_url, SecretStr(TOKEN))
    try:
        await client.ping()
    finally:
        await client.aclose()


async def test_the_callers_trace_context_reaches_the_peer(peer: Peer) -> None:
    tracer = TracerProvider().get_tracer("test")

    with tracer.start_as_current_span("gateway.query") as span:
        await call(peer, SearchQuery(query="q"))
        trace_id = format(span.get_span_context().trace_id, "032x")

    traceparent = peer.seen_headers[-1]["traceparent"]
    assert traceparent.split("-")[1] == trace_id
