"""SearchService over the real embedded engine (Qdrant Edge) and the hash embedder.

Proves end to end that a search sees only the searching tenant's chunks, whatever the query
text, filters or ``top_k``, and that filters and ``min_score`` reach the engine intact.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ragline_common.adapters.vector_store.edge import EdgeVectorStore
from ragline_common.contracts.search import ChunkPageRequest, SearchQuery
from ragline_common.ids import chunk_point_id
from ragline_common.ports.embedder import Embedder
from ragline_common.ports.vector_store import ChunkPayload, ChunkPoint
from ragline_common.tenancy import TenantId
from ragline_retrieval.domain.query_cache import QueryEmbeddingCache
from ragline_retrieval.domain.search import SearchService

ALPHA = TenantId("tenant_alpha")
BETA = TenantId("tenant_beta")

DOCUMENTS: dict[TenantId, list[tuple[str, str, str, int]]] = {
    # (document_id, text, lang, year)
    ALPHA: [
        ("doc_refunds", "Refunds are paid within fourteen days of a return.", "en", 2023),
        ("doc_holidays", "Employees receive thirty days of paid holiday per year.", "en", 2024),
        ("doc_urlaub", "Mitarbeiter erhalten dreissig Tage bezahlten Urlaub.", "de", 2024),
    ],
    BETA: [
        ("doc_secret", "Refunds are paid within fourteen days of a return, says beta.", "en", 2024),
    ],
}


@pytest.fixture
async def search(tmp_path: Path, embedder: Embedder) -> AsyncIterator[SearchService]:
    store = EdgeVectorStore(tmp_path / "vectors", dimension=embedder.dimension)
    await store.open()
    try:
        for tenant_id, documents in DOCUMENTS.items():
            vectors = await embedder.embed_documents([text for _, text, _, _ in documents])
            points = [
                ChunkPoint(
                    id=chunk_point_id(tenant_id, document_id, 1, 0),
                    dense=vector,
                    payload=ChunkPayload(
                        tenant_id=tenant_id,
                        document_id=document_id,
                        version=1,
                        chunk_index=0,
                        text=text,
                        title=document_id,
                        source_name=f"{document_id}.txt",
                        content_type="text/plain",
                        char_start=0,
                        char_end=len(text),
                        metadata={"lang": lang, "year": year},
                    ),
                )
                for (document_id, text, lang, year), vector in zip(documents, vectors, strict=True)
            ]
            await store.upsert(tenant_id, points)
        yield SearchService(
            embedder=embedder, store=store, default_mode="dense", cache=QueryEmbeddingCache(8)
        )
    finally:
        await store.close()


async def test_a_tenant_never_sees_another_tenants_chunks(search: SearchService) -> None:
    # Beta's chunk matches this query best, word for word; alpha must still not see it.
    query = SearchQuery(query="Refunds are paid within fourteen days says beta", top_k=100)

    alpha = await search.search(ALPHA, query)
    beta = await search.search(BETA, query)

    assert {hit.document_id for hit in alpha.results} == {
        "doc_refunds",
        "doc_holidays",
        "doc_urlaub",
    }
    assert alpha.results[0].document_id == "doc_refunds"
    assert [hit.document_id for hit in beta.results] == ["doc_secret"]
    assert beta.results[0].chunk_id == chunk_point_id(BETA, "doc_secret", 1, 0)


async def test_filters_narrow_within_the_tenant_only(search: SearchService) -> None:
    english_2024 = SearchQuery(
        query="refunds", top_k=10, filters={"lang": "en", "year": {"gte": 2024}}
    )
    german = SearchQuery(query="refunds", top_k=10, filters={"lang": ["de", "fr"]})

    assert [h.document_id for h in (await search.search(ALPHA, english_2024)).results] == [
        "doc_holidays"
    ]
    assert [h.document_id for h in (await search.search(BETA, german)).results] == []
    assert [h.document_id for h in (await search.search(ALPHA, german)).results] == ["doc_urlaub"]


async def test_min_score_keeps_only_close_matches(search: SearchService) -> None:
    everything = await search.search(ALPHA, SearchQuery(query="paid holiday per year", top_k=10))
    best = everything.results[0]
    assert best.document_id == "doc_holidays"

    close = await search.search(
        ALPHA, SearchQuery(query="paid holiday per year", top_k=10, min_score=best.score)
    )

    assert [hit.document_id for hit in close.results] == ["doc_holidays"]
    assert len(everything.results) == 3


async def test_listed_chunks_are_the_stored_payloads_with_their_point_ids(
    search: SearchService,
) -> None:
    text = DOCUMENTS[BETA][0][1]
    page = ChunkPageRequest(document_id="doc_secret", version=1, limit=10, offset=0)

    [listed] = (await search.list_chunks(BETA, page)).chunks

    assert listed.model_dump() == {
        "chunk_id": chunk_point_id(BETA, "doc_secret", 1, 0),
        "document_id": "doc_secret",
        "version": 1,
        "chunk_index": 0,
        "text": text,
        "title": "doc_secret",
        "source_name": "doc_secret.txt",
        "content_type": "text/plain",
        "heading_path": (),
        "page": None,
        "char_start": 0,
        "char_end": len(text),
        "metadata": {"lang": "en", "year": 2024},
    }
    assert (await search.list_chunks(ALPHA, page)).chunks == []
