"""The internal search route through ASGI: token guard, problem+json errors, the component."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from ragline_cli.hosting import ProcessHost, WiredHost
from ragline_common.contracts.search import SearchApi, SearchHit, SearchQuery, SearchResult
from ragline_common.errors import UpstreamUnavailable
from ragline_common.hosting import SEARCH_API, Api
from ragline_common.http.internal_auth import INTERNAL_TOKEN_HEADER
from ragline_common.http.internal_routes import SEARCH_PATH
from ragline_common.http.middleware import RequestObservabilityMiddleware
from ragline_common.observability import metrics
from ragline_common.ports.embedder import Embedder
from ragline_common.ports.vector_store import MetadataCondition, ScoredChunk, VectorStore
from ragline_common.problem import PROBLEM_MEDIA_TYPE
from ragline_common.settings import CoreSettings
from ragline_common.tenancy import TenantId
from ragline_retrieval.api.internal import internal_router
from ragline_retrieval.component import RetrievalComponent
from ragline_retrieval.settings import RetrievalSettings
from ragline_testing.harness import embedded_settings, problem_app

TOKEN = "internal-token-0123456789abcdef"
BODY = {"tenant_id": "tenant_a", "query": {"query": "refund policy", "top_k": 3}}


class EchoSearch:
    """Answers with one hit naming the tenant and query it was given."""

    def __init__(self) -> None:
        self.calls: list[tuple[TenantId, SearchQuery]] = []
        self.index_models: list[str | None] = []

    async def search(
        self, tenant_id: TenantId, query: SearchQuery, *, index_model: str | None = None
    ) -> SearchResult:
        self.calls.append((tenant_id, query))
        self.index_models.append(index_model)
        hit = SearchHit(
            document_id="doc_1",
            chunk_id="c1",
            text=f"{tenant_id}: {query.query}",
            score=0.5,
            metadata={},
            title="t",
            source_name="s",
            version=1,
            chunk_index=0,
        )
        return SearchResult(results=[hit], mode="dense")


def app_with(service: SearchApi, token: str | None) -> FastAPI:
    secret = SecretStr(token) if token is not None else None
    return problem_app(internal_router(service=lambda: service, internal_token=lambda: secret))


async def post(app: FastAPI, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://retrieval") as client:
        return await client.post("/internal/v1/search", json=body, headers=headers)


@pytest.mark.parametrize("headers", [None, {INTERNAL_TOKEN_HEADER: "wrong-token-0123456789"}])
async def test_a_missing_or_wrong_token_is_401_problem(headers: dict[str, str] | None) -> None:
    service = EchoSearch()

    response = await post(app_with(service, TOKEN), BODY, headers)

    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert response.json()["code"] == "invalid_internal_token"
    assert service.calls == []


async def test_the_right_token_searches_for_the_tenant_in_the_body() -> None:
    service = EchoSearch()

    response = await post(app_with(service, TOKEN), BODY, {INTERNAL_TOKEN_HEADER: TOKEN})

    assert response.status_code == 200
    result = SearchResult.model_validate(response.json())
    assert result.results[0].text == "tenant_a: refund policy"
    assert service.calls == [(TenantId("tenant_a"), SearchQuery(query="refund policy", top_k=3))]
    assert service.index_models == [None]  # none named: retrieval's default index


async def test_the_index_named_in_the_body_is_the_one_searched() -> None:
    service = EchoSearch()
    body = {**BODY, "index_model": "onnx-int8"}

    response = await post(app_with(service, TOKEN), body, {INTERNAL_TOKEN_HEADER: TOKEN})

    assert response.status_code == 200
    assert service.index_models == ["onnx-int8"]


async def test_the_request_is_counted_for_the_tenant_in_the_body() -> None:
    app = app_with(EchoSearch(), TOKEN)
    app.add_middleware(RequestObservabilityMiddleware, service="retrieval")
    labels = {
        "service": "retrieval",
        "method": "POST",
        "route": SEARCH_PATH,
        "status": "200",
        "tenant": "tenant_a",
    }
    before = metrics.REGISTRY.get_sample_value("ragline_http_requests_total", labels) or 0.0

    response = await post(app, BODY, {INTERNAL_TOKEN_HEADER: TOKEN})

    assert response.status_code == 200
    after = metrics.REGISTRY.get_sample_value("ragline_http_requests_total", labels)
    assert after == before + 1


async def test_without_a_configured_token_no_header_is_needed() -> None:
    response = await post(app_with(EchoSearch(), None), BODY)

    assert response.status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"query": {"query": "q"}},
        {"tenant_id": "t", "query": {"query": "q", "top_k": 0}},
        {"tenant_id": "t", "query": {"query": ""}},
        {"tenant_id": "t", "query": {"query": "q", "mode": "fuzzy"}},
        {"tenant_id": "t", "query": {"query": "q"}, "unexpected": 1},
    ],
)
async def test_invalid_requests_are_422_problems(body: dict[str, Any]) -> None:
    response = await post(app_with(EchoSearch(), TOKEN), body, {INTERNAL_TOKEN_HEADER: TOKEN})

    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert response.json()["code"] == "validation_failed"


class StubStore:
    """Only what the component touches: a readiness ping and an empty search."""

    def __init__(self) -> None:
        self.pinged = 0

    async def ping(self) -> None:
        self.pinged += 1

    async def search(
        self,
        tenant_id: TenantId,
        *,
        limit: int,
        conditions: Sequence[MetadataCondition] = (),
        **_: Any,
    ) -> list[ScoredChunk]:
        return []


class StubHost(ProcessHost):
    """A process whose shared adapters are test doubles instead of the settings' adapters."""

    def __init__(self, embedder: Embedder, store: StubStore, token: str | None) -> None:
        core = CoreSettings(internal_token=SecretStr(token) if token else None)
        super().__init__(embedded_settings(core), AsyncExitStack())
        self._embedder = embedder
        self.store = store
        self.provided: dict[Api[Any], Any] = {}

    async def embedder(self) -> Embedder:
        return self._embedder

    async def vector_store(self) -> VectorStore:
        return self.store  # type: ignore[return-value]


@pytest.fixture
async def started(embedder: Embedder) -> tuple[RetrievalComponent, StubHost]:
    component = RetrievalComponent(RetrievalSettings(query_cache_size=4))
    host = StubHost(embedder, StubStore(), TOKEN)
    wired = WiredHost(
        host, component.name, provides=component.provides, requires=(), provided=host.provided
    )
    await component.start(wired)
    return component, host


def test_no_internal_routes_when_the_gateway_shares_the_process() -> None:
    assert RetrievalComponent(RetrievalSettings()).routers(internal_api=False) == []


async def test_the_component_provides_search_and_a_readiness_check(
    started: tuple[RetrievalComponent, StubHost],
) -> None:
    _component, host = started

    search_api: SearchApi = host.provided[SEARCH_API]
    assert (await search_api.search(TenantId("t"), SearchQuery(query="q"))).results == []
    await host.checks["vector_store"]()
    assert host.store.pinged == 1


async def test_the_started_component_serves_with_the_hosts_token(
    started: tuple[RetrievalComponent, StubHost],
) -> None:
    component, _host = started
    app = problem_app(*component.routers(internal_api=True))

    assert (await post(app, BODY)).status_code == 401
    response = await post(app, BODY, {INTERNAL_TOKEN_HEADER: TOKEN})
    assert response.status_code == 200
    assert response.json() == {"results": [], "mode": "hybrid", "index_model": "hash"}


async def test_before_start_the_route_fails_closed_with_503() -> None:
    app = problem_app(*RetrievalComponent(RetrievalSettings()).routers(internal_api=True))

    response = await post(app, BODY, {INTERNAL_TOKEN_HEADER: TOKEN})

    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert response.json()["code"] == UpstreamUnavailable.code
