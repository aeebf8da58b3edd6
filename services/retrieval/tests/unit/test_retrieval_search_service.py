"""SearchService against a recording store: what it asks the store and what it returns."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import cast

import pytest

from ragline_common.adapters.sparse.bm25 import Bm25SparseEncoder
from ragline_common.contracts.search import SearchQuery
from ragline_common.errors import ValidationFailed
from ragline_common.ports.embedder import Embedder
from ragline_common.ports.vector_store import (
    DEFAULT_RRF,
    ChunkPayload,
    MatchAny,
    MatchValue,
    MetadataCondition,
    Rrf,
    ScoredChunk,
    SearchMode,
    SparseVector,
    VectorStore,
)
from ragline_common.tenancy import TenantId
from ragline_retrieval.domain.query_cache import QueryEmbeddingCache
from ragline_retrieval.domain.rerank import Reranker
from ragline_retrieval.domain.search import SearchService

TENANT = TenantId("tenant_a")


@dataclass
class SearchCall:
    tenant_id: TenantId
    mode: SearchMode
    dense: Sequence[float] | None
    sparse: SparseVector | None
    limit: int
    conditions: tuple[MetadataCondition, ...]
    fusion: Rrf


@dataclass
class RecordingStore:
    """Answers every search with ``hits`` (up to the limit) and records the call."""

    hits: list[ScoredChunk] = field(default_factory=list)
    calls: list[SearchCall] = field(default_factory=list)

    async def search(
        self,
        tenant_id: TenantId,
        *,
        mode: SearchMode,
        dense: Sequence[float] | None,
        sparse: SparseVector | None,
        limit: int,
        conditions: Sequence[MetadataCondition] = (),
        fusion: Rrf = DEFAULT_RRF,
    ) -> list[ScoredChunk]:
        self.calls.append(
            SearchCall(tenant_id, mode, dense, sparse, limit, tuple(conditions), fusion)
        )
        return self.hits[:limit]


class CountingEmbedder:
    """Wraps an embedder and records the queries it really had to embed."""

    def __init__(self, inner: Embedder, model_id: str = "model-a") -> None:
        self._inner = inner
        self.model_id = model_id
        self.dimension = inner.dimension
        self.embedded: list[str] = []

    async def warm_up(self) -> None:
        await self._inner.warm_up()

    async def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        return await self._inner.embed_documents(texts)

    async def embed_query(self, text: str) -> list[float]:
        self.embedded.append(text)
        return await self._inner.embed_query(text)

    def count_tokens(self, text: str) -> int:
        return self._inner.count_tokens(text)


def scored(point_id: str, score: float, *, index: int = 0, text: str | None = None) -> ScoredChunk:
    return ScoredChunk(
        id=point_id,
        score=score,
        payload=ChunkPayload(
            tenant_id=TENANT,
            document_id="doc_1",
            version=3,
            chunk_index=index,
            text=text if text is not None else f"chunk text {index}",
            title="Handbook",
            source_name="handbook.pdf",
            content_type="application/pdf",
            heading_path=("Policies", "Refunds"),
            page=7,
            char_start=0,
            char_end=12,
            metadata={"lang": "en", "year": 2024},
            word_sketch="w1:3:7",
        ),
    )


@pytest.fixture
def counting(embedder: Embedder) -> CountingEmbedder:
    return CountingEmbedder(embedder)


def service(
    embedder: Embedder,
    store: RecordingStore,
    *,
    cache: QueryEmbeddingCache | None = None,
    default_mode: SearchMode = "dense",
    sparse: bool = False,
    fusion: Rrf = DEFAULT_RRF,
    reranker: Reranker | None = None,
    rerank_candidates: int = 30,
) -> SearchService:
    return SearchService(
        embedder=embedder,
        store=cast("VectorStore", store),  # the service only searches
        default_mode=default_mode,
        cache=cache if cache is not None else QueryEmbeddingCache(16),
        sparse_encoder=Bm25SparseEncoder() if sparse else None,
        fusion=fusion,
        reranker=reranker,
        rerank_candidates=rerank_candidates,
    )


async def test_the_store_gets_tenant_mode_vector_limit_and_conditions(
    counting: CountingEmbedder,
) -> None:
    store = RecordingStore()
    query = SearchQuery(query="refund policy", top_k=5, filters={"lang": "en", "tags": ["a"]})

    result = await service(counting, store).search(TENANT, query)

    (call,) = store.calls
    assert call.tenant_id == TENANT
    assert call.mode == "dense"
    assert list(call.dense or []) == await counting.embed_query("refund policy")
    assert call.sparse is None
    assert call.limit == 5
    assert call.conditions == (
        MatchValue(key="lang", value="en"),
        MatchAny(key="tags", values=("a",)),
    )
    assert result.mode == "dense"


async def test_hits_map_to_search_hits_with_the_point_id_as_chunk_id(
    counting: CountingEmbedder,
) -> None:
    store = RecordingStore(hits=[scored("7f1c0c1e-0000-4000-8000-000000000001", 0.9, index=4)])

    result = await service(counting, store).search(TENANT, SearchQuery(query="refunds"))

    (hit,) = result.results
    assert hit.chunk_id == "7f1c0c1e-0000-4000-8000-000000000001"
    assert hit.score == 0.9
    assert (hit.document_id, hit.version, hit.chunk_index) == ("doc_1", 3, 4)
    assert (hit.title, hit.source_name, hit.page) == ("Handbook", "handbook.pdf", 7)
    assert hit.heading_path == ("Policies", "Refunds")
    assert hit.text == "chunk text 4"
    assert hit.metadata == {"lang": "en", "year": 2024}
    # The word sketch reaches an in-process gateway, never the wire (nor the internal API).
    assert hit.word_sketch == "w1:3:7"
    assert "word_sketch" not in result.model_dump_json()


async def test_hits_below_min_score_are_dropped_and_order_kept(
    counting: CountingEmbedder,
) -> None:
    store = RecordingStore(hits=[scored("a", 0.9), scored("b", 0.5), scored("c", 0.49)])

    result = await service(counting, store).search(TENANT, SearchQuery(query="q", min_score=0.5))

    assert [hit.chunk_id for hit in result.results] == ["a", "b"]


async def test_without_min_score_every_hit_is_returned(counting: CountingEmbedder) -> None:
    store = RecordingStore(hits=[scored("a", 0.9), scored("b", -0.2)])

    result = await service(counting, store).search(TENANT, SearchQuery(query="q"))

    assert [hit.chunk_id for hit in result.results] == ["a", "b"]


@pytest.mark.parametrize("mode", ["sparse", "hybrid"])
async def test_modes_needing_a_sparse_encoder_are_refused(
    counting: CountingEmbedder, mode: SearchMode
) -> None:
    store = RecordingStore()

    with pytest.raises(ValidationFailed) as caught:
        await service(counting, store).search(TENANT, SearchQuery(query="q", mode=mode))

    assert caught.value.code == "mode_unavailable"
    assert "sparse encoder" in caught.value.detail
    assert store.calls == []
    assert counting.embedded == []


def test_an_unavailable_default_mode_is_refused_at_start(counting: CountingEmbedder) -> None:
    with pytest.raises(ValueError, match="RAGLINE_RETRIEVAL_DEFAULT_MODE='hybrid'"):
        service(counting, RecordingStore(), default_mode="hybrid")


async def test_a_repeated_query_is_embedded_once(counting: CountingEmbedder) -> None:
    search = service(counting, RecordingStore())

    await search.search(TENANT, SearchQuery(query="refund policy"))
    await search.search(TENANT, SearchQuery(query="refund policy", top_k=3))
    await search.search(TENANT, SearchQuery(query="other"))

    assert counting.embedded == ["refund policy", "other"]


async def test_the_cache_is_not_shared_between_tenants(counting: CountingEmbedder) -> None:
    search = service(counting, RecordingStore())

    await search.search(TENANT, SearchQuery(query="merger plans"))
    await search.search(TenantId("tenant_b"), SearchQuery(query="merger plans"))

    assert counting.embedded == ["merger plans", "merger plans"]


async def test_the_cache_is_keyed_by_model(embedder: Embedder) -> None:
    cache = QueryEmbeddingCache(16)
    store = RecordingStore()
    first, second = CountingEmbedder(embedder, "model-a"), CountingEmbedder(embedder, "model-b")
    for model in (first, second):
        await service(model, store, cache=cache).search(TENANT, SearchQuery(query="same text"))

    assert first.embedded == ["same text"]
    assert second.embedded == ["same text"]


async def test_a_zero_size_cache_embeds_every_time(counting: CountingEmbedder) -> None:
    search = service(counting, RecordingStore(), cache=QueryEmbeddingCache(0))

    await search.search(TENANT, SearchQuery(query="q"))
    await search.search(TENANT, SearchQuery(query="q"))

    assert counting.embedded == ["q", "q"]


def test_the_cache_evicts_the_least_recently_used_entry() -> None:
    cache = QueryEmbeddingCache(2)
    cache.put((TENANT, "m", "a"), (1.0,))
    cache.put((TENANT, "m", "b"), (2.0,))
    assert cache.get((TENANT, "m", "a")) == (1.0,)  # "a" is now the most recent

    cache.put((TENANT, "m", "c"), (3.0,))

    assert cache.get((TENANT, "m", "b")) is None
    assert cache.get((TENANT, "m", "a")) == (1.0,)
    assert cache.get((TENANT, "m", "c")) == (3.0,)
    assert len(cache) == 2


BM25 = Bm25SparseEncoder()


async def test_sparse_search_sends_bm25_terms_and_no_embedding(
    counting: CountingEmbedder,
) -> None:
    store = RecordingStore()

    result = await service(counting, store, sparse=True).search(
        TENANT, SearchQuery(query="Refunds for damaged goods", mode="sparse")
    )

    (call,) = store.calls
    assert call.mode == "sparse"
    assert call.dense is None
    assert call.sparse == BM25.encode_query("refund damaged good")
    assert counting.embedded == []
    assert result.mode == "sparse"


async def test_hybrid_sends_both_vectors_and_the_configured_fusion(
    counting: CountingEmbedder,
) -> None:
    store = RecordingStore()
    fusion = Rrf(k=7, dense_weight=1.5)

    result = await service(counting, store, sparse=True, fusion=fusion).search(
        TENANT, SearchQuery(query="refund policy", mode="hybrid", top_k=4)
    )

    (call,) = store.calls
    assert (call.mode, call.limit, call.fusion) == ("hybrid", 4, fusion)
    assert list(call.dense or []) == await counting.embed_query("refund policy")
    assert call.sparse == BM25.encode_query("refund policy")
    assert result.mode == "hybrid"


async def test_the_default_mode_serves_queries_that_name_none(counting: CountingEmbedder) -> None:
    store = RecordingStore()

    result = await service(counting, store, sparse=True, default_mode="hybrid").search(
        TENANT, SearchQuery(query="refund policy")
    )

    assert store.calls[0].mode == result.mode == "hybrid"


async def test_a_stop_word_query_finds_nothing_sparse_and_falls_back_to_dense(
    counting: CountingEmbedder,
) -> None:
    store = RecordingStore(hits=[scored("a", 0.9)])
    search = service(counting, store, sparse=True)

    sparse = await search.search(TENANT, SearchQuery(query="what is it", mode="sparse"))
    hybrid = await search.search(TENANT, SearchQuery(query="what is it", mode="hybrid"))

    assert sparse.results == []
    assert hybrid.mode == "dense"
    assert [hit.chunk_id for hit in hybrid.results] == ["a"]
    (call,) = store.calls
    assert (call.mode, call.sparse) == ("dense", None)


class ReverseReranker:
    """Scores passages by their text length, so the expected order is easy to state."""

    model_id = "fake-reranker"

    def __init__(self) -> None:
        self.seen: list[list[str]] = []

    async def warm_up(self) -> None:
        return None

    async def scores(self, query: str, passages: Sequence[str]) -> list[float]:
        self.seen.append(list(passages))
        return [float(len(passage)) for passage in passages]


async def test_a_reranker_reorders_the_candidates_and_replaces_their_scores(
    counting: CountingEmbedder,
) -> None:
    texts = ["short", "the longest text of all", "medium text", "x"]
    hits = [scored(f"p{i}", 1.0 - i / 10, text=t) for i, t in enumerate(texts)]
    store = RecordingStore(hits=hits)
    reranker = ReverseReranker()
    search = service(counting, store, reranker=reranker, rerank_candidates=3)

    result = await search.search(TENANT, SearchQuery(query="q", top_k=2, min_score=5.0))

    assert store.calls[0].limit == 3  # the candidates, not top_k
    assert reranker.seen == [texts[:3]]
    assert [(hit.chunk_id, hit.score) for hit in result.results] == [
        ("p1", float(len(texts[1]))),
        ("p2", float(len(texts[2]))),
    ]


async def test_min_score_applies_to_reranked_scores(counting: CountingEmbedder) -> None:
    store = RecordingStore(hits=[scored("a", 0.9, text="ab"), scored("b", 0.1, text="abcdef")])
    search = service(counting, store, reranker=ReverseReranker())

    result = await search.search(TENANT, SearchQuery(query="q", min_score=3.0))

    assert [hit.chunk_id for hit in result.results] == ["b"]
