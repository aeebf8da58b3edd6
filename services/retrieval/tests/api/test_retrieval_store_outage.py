"""A vector store that fails mid-service gives a 503 that tells the caller nothing of the engine.

The engine's own error text can name paths, hosts or internals; it belongs in the log, and the
problem body carries a fixed detail and a stable ``code`` instead.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from ragline_common.adapters.vector_store.edge import EdgeVectorStore
from ragline_common.errors import UpstreamUnavailable
from ragline_common.ports.embedder import Embedder
from ragline_common.problem import PROBLEM_MEDIA_TYPE
from ragline_common.tenancy import TenantId
from ragline_retrieval.api.internal import internal_router
from ragline_retrieval.domain.query_cache import QueryEmbeddingCache
from ragline_retrieval.domain.search import SearchService
from ragline_testing.harness import problem_app

TENANT = TenantId("tenant_a")


async def test_a_failing_store_is_a_503_without_the_engines_words(
    tmp_path: Path, embedder: Embedder
) -> None:
    store = EdgeVectorStore(tmp_path / "vectors", dimension=embedder.dimension)
    await store.open()
    # The engine fails under the adapter, as when its storage goes away: closing the shard
    # behind the adapter's back makes every call raise the engine's own error.
    shard = store._shard
    assert shard is not None
    shard.close()
    with pytest.raises(UpstreamUnavailable) as raised:
        await store.count(TENANT)
    engine_words = str(raised.value.__cause__)
    assert engine_words

    service = SearchService(
        embedder=embedder, store=store, default_mode="dense", cache=QueryEmbeddingCache(8)
    )
    app = problem_app(internal_router(service=lambda: service, internal_token=lambda: None))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://retrieval") as client:
        response = await client.post(
            "/internal/v1/search", json={"tenant_id": TENANT, "query": {"query": "anything"}}
        )

    assert response.status_code == 503
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert "Retry-After" in response.headers
    body = response.json()
    assert body["code"] == "vector_store_unavailable"
    assert engine_words not in response.text
    distinctive = [word for word in engine_words.split() if len(word) >= 5]
    assert distinctive
    assert [word for word in distinctive if word.lower() in response.text.lower()] == []
