"""Search through the internal route with real parts: Qdrant Edge, BM25, the hash embedder.

Modes, filters (equality, any-of, number and date ranges) and validation as a caller sees them:
JSON in, ranked hits or an ``application/problem+json`` 422 with a stable code out.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from ragline_common.adapters.sparse.bm25 import Bm25SparseEncoder
from ragline_common.adapters.vector_store.edge import EdgeVectorStore
from ragline_common.ids import chunk_point_id
from ragline_common.ports.embedder import Embedder
from ragline_common.ports.vector_store import ChunkPayload, ChunkPoint
from ragline_common.problem import PROBLEM_MEDIA_TYPE
from ragline_common.tenancy import TenantId
from ragline_retrieval.api.internal import internal_router
from ragline_retrieval.domain.query_cache import QueryEmbeddingCache
from ragline_retrieval.domain.search import SearchService
from ragline_testing.harness import problem_app

TENANT = TenantId("tenant_a")
DOCS: list[tuple[str, str, dict[str, Any]]] = [
    ("zebrafish", "Zebrafish regenerate their heart muscle after injury.", {"year": 2019}),
    ("insulin", "Insulin resistance precedes type 2 diabetes.", {"year": 2021, "lang": "en"}),
    ("urlaub", "Mitarbeiter erhalten bezahlten Urlaub.", {"lang": "de", "on": "2024-03-01"}),
    ("vitamin", "Vitamin B12 deficiency raises homocysteine.", {"lang": "en", "on": "2022-07-09"}),
]


@pytest.fixture
async def store(tmp_path: Path, embedder: Embedder) -> AsyncIterator[EdgeVectorStore]:
    store = EdgeVectorStore(tmp_path / "vectors", dimension=embedder.dimension)
    await store.open()
    texts = [text for _, text, _ in DOCS]
    dense = await embedder.embed_documents(texts)
    sparse = await Bm25SparseEncoder().encode_documents(texts)
    await store.upsert(
        TENANT,
        [
            ChunkPoint(
                id=chunk_point_id(TENANT, doc, 1, 0),
                dense=d,
                sparse=s,
                payload=ChunkPayload(
                    tenant_id=TENANT,
                    document_id=doc,
                    version=1,
                    chunk_index=0,
                    text=text,
                    title=doc,
                    source_name=f"{doc}.txt",
                    content_type="text/plain",
                    char_start=0,
                    char_end=len(text),
                    metadata=metadata,
                ),
            )
            for (doc, text, metadata), d, s in zip(DOCS, dense, sparse, strict=True)
        ],
    )
    yield store
    await store.close()


def app(embedder: Embedder, store: EdgeVectorStore, *, sparse: bool = True) -> FastAPI:
    service = SearchService(
        embedder=embedder,
        store=store,
        default_mode="hybrid" if sparse else "dense",
        cache=QueryEmbeddingCache(8),
        sparse_encoder=Bm25SparseEncoder() if sparse else None,
    )
    return problem_app(internal_router(service=lambda: service, internal_token=lambda: None))


async def search(app: FastAPI, **query: Any) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://retrieval") as client:
        body = {"tenant_id": TENANT, "query": query}
        return await client.post("/internal/v1/search", json=body)


def documents(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [hit["document_id"] for hit in response.json()["results"]]


async def test_sparse_finds_the_chunk_sharing_stemmed_terms(
    embedder: Embedder, store: EdgeVectorStore
) -> None:
    response = await search(app(embedder, store), query="regenerating hearts", mode="sparse")

    assert documents(response) == ["zebrafish"]
    assert response.json()["mode"] == "sparse"


async def test_hybrid_is_the_default_and_ranks_the_lexical_match_first(
    embedder: Embedder, store: EdgeVectorStore
) -> None:
    response = await search(app(embedder, store), query="homocysteine and B12", top_k=4)

    assert documents(response)[0] == "vitamin"
    assert len(documents(response)) == 4
    assert response.json()["mode"] == "hybrid"


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"lang": "en"}, ["insulin", "vitamin"]),
        ({"lang": ["de", "fr"]}, ["urlaub"]),
        ({"year": {"gte": 2020}}, ["insulin"]),
        ({"on": {"gte": "2023-01-01"}}, ["urlaub"]),
        ({"on": {"lt": "2024-03-01T00:00:00Z"}, "lang": "en"}, ["vitamin"]),
    ],
)
@pytest.mark.parametrize("mode", ["dense", "sparse", "hybrid"])
async def test_filters_hold_in_every_mode(
    embedder: Embedder,
    store: EdgeVectorStore,
    mode: str,
    filters: dict[str, Any],
    expected: list[str],
) -> None:
    # Every document shares a term with this query, so only the filter decides.
    query = "zebrafish insulin urlaub vitamin"
    response = await search(app(embedder, store), query=query, mode=mode, filters=filters)

    assert sorted(documents(response)) == expected


async def test_min_score_drops_weak_hits(embedder: Embedder, store: EdgeVectorStore) -> None:
    everything = await search(app(embedder, store), query="insulin", mode="sparse")
    assert documents(everything) == ["insulin"]

    none = await search(app(embedder, store), query="insulin", mode="sparse", min_score=1e6)

    assert documents(none) == []


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ({"query": "q", "filters": {"bad key!": 1}}, "invalid_filter"),
        ({"query": "q", "filters": {"on": {"gte": 1, "lt": "2024-01-01"}}}, "invalid_filter"),
        ({"query": "q", "filters": {"on": {}}}, "invalid_filter"),
        ({"query": "q", "top_k": 101}, "validation_failed"),
        ({"query": "q", "mode": "semantic"}, "validation_failed"),
        ({"query": "q", "filters": {"on": {"after": "2024"}}}, "validation_failed"),
        ({"query": "x" * 2001}, "validation_failed"),
    ],
)
async def test_bad_queries_are_422_problems(
    embedder: Embedder, store: EdgeVectorStore, query: dict[str, Any], code: str
) -> None:
    response = await search(app(embedder, store), **query)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert response.json()["code"] == code


async def test_without_a_sparse_encoder_sparse_modes_are_unavailable(
    embedder: Embedder, store: EdgeVectorStore
) -> None:
    response = await search(app(embedder, store, sparse=False), query="insulin", mode="hybrid")

    assert response.status_code == 422
    assert response.json()["code"] == "mode_unavailable"
