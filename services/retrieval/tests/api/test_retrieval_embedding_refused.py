"""A remote embedding provider that refuses a query's encoding is a 503, never the client's 422.

The refusal (a revoked key, here) is the operator's to fix; the problem body carries a fixed
detail, not the provider's reason, and a provider that is merely down stays a 503 as well.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from ragline_common.adapters.embedder.hashing import HashEmbedder
from ragline_common.adapters.embedder.openai_compatible import OpenAICompatibleEmbedder
from ragline_common.adapters.vector_store.edge import EdgeVectorStore
from ragline_common.problem import PROBLEM_MEDIA_TYPE
from ragline_retrieval.api.internal import internal_router
from ragline_retrieval.domain.query_cache import QueryEmbeddingCache
from ragline_retrieval.domain.search import SearchService
from ragline_testing.embedding_server import FakeEmbeddingServer, remote_embedder
from ragline_testing.harness import problem_app

KEY = "sk-test-key-that-works"
SEARCH = {"tenant_id": "tenant_a", "query": {"query": "otters"}}


@pytest.fixture
def provider() -> FakeEmbeddingServer:
    return FakeEmbeddingServer(engine=HashEmbedder(32), model="remote-hash", api_key=KEY)


@pytest.fixture
async def embedder(provider: FakeEmbeddingServer) -> AsyncIterator[OpenAICompatibleEmbedder]:
    async with remote_embedder(provider, api_key=SecretStr(KEY), max_retries=0) as remote:
        yield remote


@pytest.fixture
async def client(
    embedder: OpenAICompatibleEmbedder, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    store = EdgeVectorStore(tmp_path / "vectors", dimension=embedder.dimension)
    await store.open()
    service = SearchService(
        embedder=embedder, store=store, default_mode="dense", cache=QueryEmbeddingCache(8)
    )
    app = problem_app(internal_router(service=lambda: service, internal_token=lambda: None))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://retrieval") as http:
            yield http
    finally:
        await store.close()


async def test_a_searchable_query_is_a_200_while_the_key_is_good(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/internal/v1/search", json=SEARCH)
    assert response.status_code == 200, response.text


async def test_a_revoked_key_is_a_503_with_a_fixed_text(
    client: httpx.AsyncClient, provider: FakeEmbeddingServer
) -> None:
    provider.api_key = "sk-the-key-was-rotated"

    response = await client.post("/internal/v1/search", json=SEARCH)

    assert response.status_code == 503
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert response.headers["Retry-After"] == "60"
    body = response.json()
    assert body["code"] == "embedding_unavailable"
    assert body["detail"] == "The embedding model cannot encode queries right now."
    assert "key" not in response.text.lower()


async def test_a_provider_that_is_down_stays_a_503(
    client: httpx.AsyncClient, provider: FakeEmbeddingServer
) -> None:
    provider.always_fail = 502

    response = await client.post("/internal/v1/search", json=SEARCH)

    assert response.status_code == 503
    assert response.json()["code"] == "upstream_unavailable"
