"""Searching a named model index (issue 15): while a reindex switches reads, the gateway names
the index each request reads; retrieval must search exactly that one, say which answered, and
never answer one model's query with a vector cached for another."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import pytest

from ragline_common.adapters.embedder.hashing import HashEmbedder
from ragline_common.adapters.sparse.bm25 import Bm25SparseEncoder
from ragline_common.contracts.search import ChunkPageRequest, SearchQuery
from ragline_common.errors import UpstreamUnavailable, ValidationFailed
from ragline_common.indexing.indexes import EmbeddingIndex, index_key
from ragline_common.indexing.model_spec import ModelSpec
from ragline_common.ports.vector_store import ChunkPayload, ScoredChunk, VectorStore
from ragline_common.tenancy import TenantId
from ragline_retrieval.domain.query_cache import QueryEmbeddingCache
from ragline_retrieval.domain.search import SearchService

TENANT = TenantId("ten_a")


class RecordingStore:
    """Records the dense query vectors it was searched with and the pages listed."""

    def __init__(self) -> None:
        self.dense_lengths: list[int] = []
        self.pages: list[str] = []

    async def search(
        self, tenant_id: TenantId, *, dense: Sequence[float] | None, **_: Any
    ) -> list[ScoredChunk]:
        self.dense_lengths.append(len(dense or ()))
        return []

    async def list_chunks(
        self, tenant_id: TenantId, document_id: str, **_: Any
    ) -> list[ChunkPayload]:
        self.pages.append(document_id)
        return []


class CountingHash(HashEmbedder):
    def __init__(self, dimension: int) -> None:
        super().__init__(dimension)
        self.queries: list[str] = []

    async def embed_query(self, text: str) -> list[float]:
        self.queries.append(text)
        return await super().embed_query(text)


class FakeIndexes:
    """Two stand-in models besides the default: ``onnx-int8`` (32 dims); ``torch`` shares it."""

    def __init__(self) -> None:
        self.store = RecordingStore()
        self.embedder = CountingHash(32)
        self.opened: list[str] = []

    async def index(self, spec: ModelSpec | None = None) -> EmbeddingIndex:
        assert spec is not None, "the default index is the service's own"
        self.opened.append(str(spec))
        store = cast("VectorStore", self.store)
        return EmbeddingIndex(spec, self.embedder, store, index_key(self.embedder))

    async def drop(self, spec: ModelSpec) -> None:
        raise AssertionError("retrieval never drops")


@pytest.fixture
def default_store() -> RecordingStore:
    return RecordingStore()


@pytest.fixture
def default_embedder() -> CountingHash:
    return CountingHash(64)


@pytest.fixture
def indexes() -> FakeIndexes:
    return FakeIndexes()


@pytest.fixture
def search(
    default_store: RecordingStore, default_embedder: CountingHash, indexes: FakeIndexes
) -> SearchService:
    return SearchService(
        embedder=default_embedder,
        store=cast("VectorStore", default_store),
        default_mode="dense",
        cache=QueryEmbeddingCache(16),
        indexes=indexes,
        default_index_model="hash",
    )


async def test_no_name_reads_the_default_index_and_says_so(
    search: SearchService, default_store: RecordingStore, indexes: FakeIndexes
) -> None:
    result = await search.search(TENANT, SearchQuery(query="ducks"))
    assert result.index_model == "hash"
    assert default_store.dense_lengths == [64]
    assert indexes.opened == []


async def test_the_default_by_name_is_the_default(
    search: SearchService, default_store: RecordingStore, indexes: FakeIndexes
) -> None:
    result = await search.search(TENANT, SearchQuery(query="ducks"), index_model="hash")
    assert result.index_model == "hash"
    assert default_store.dense_lengths == [64]
    assert indexes.opened == []


async def test_a_named_index_is_searched_with_its_own_model(
    search: SearchService, default_store: RecordingStore, indexes: FakeIndexes
) -> None:
    result = await search.search(TENANT, SearchQuery(query="ducks"), index_model="onnx-int8")
    assert result.index_model == "onnx-int8"
    assert indexes.store.dense_lengths == [32]
    assert default_store.dense_lengths == []


async def test_the_answering_spec_is_the_canonical_one(search: SearchService) -> None:
    result = await search.search(TENANT, SearchQuery(query="ducks"), index_model=" minilm ")
    assert result.index_model == "torch"


async def test_sparse_search_also_reports_its_index() -> None:
    service = SearchService(
        embedder=HashEmbedder(64),
        store=cast("VectorStore", RecordingStore()),
        default_mode="sparse",
        cache=QueryEmbeddingCache(16),
        sparse_encoder=Bm25SparseEncoder(),
        indexes=FakeIndexes(),
        default_index_model="hash",
    )
    result = await service.search(TENANT, SearchQuery(query="the"), index_model="onnx-int8")
    assert (result.results, result.index_model) == ([], "onnx-int8")


async def test_an_unknown_index_model_is_a_422_with_a_stable_code(
    search: SearchService,
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        await search.search(TENANT, SearchQuery(query="ducks"), index_model="word2vec")
    assert caught.value.code == "unknown_index_model"
    assert caught.value.status == 422


async def test_naming_an_index_without_indexes_is_refused(
    default_store: RecordingStore,
) -> None:
    service = SearchService(
        embedder=HashEmbedder(64),
        store=cast("VectorStore", default_store),
        default_mode="dense",
        cache=QueryEmbeddingCache(16),
        default_index_model="hash",
    )
    with pytest.raises(ValidationFailed, match="only its default"):
        await service.search(TENANT, SearchQuery(query="q"), index_model="onnx-int8")
    assert (await service.search(TENANT, SearchQuery(query="q"))).index_model == "hash"


async def test_query_vectors_are_cached_per_index(
    default_store: RecordingStore, indexes: FakeIndexes
) -> None:
    # The same embedder (same model id) behind two index names: still two cache entries.
    shared = CountingHash(32)
    indexes.embedder = shared
    service = SearchService(
        embedder=shared,
        store=cast("VectorStore", default_store),
        default_mode="dense",
        cache=QueryEmbeddingCache(16),
        indexes=indexes,
        default_index_model="onnx",
    )
    for index_model in (None, "onnx-int8", "onnx-int8", None):
        await service.search(TENANT, SearchQuery(query="ducks"), index_model=index_model)
    assert shared.queries == ["ducks", "ducks"]


async def test_chunk_pages_come_from_the_named_index(
    search: SearchService, default_store: RecordingStore, indexes: FakeIndexes
) -> None:
    page = ChunkPageRequest(document_id="doc_1", version=1, limit=10, offset=0)
    await search.list_chunks(TENANT, page, index_model="onnx-int8")
    await search.list_chunks(TENANT, page)
    assert indexes.store.pages == ["doc_1"]
    assert default_store.pages == ["doc_1"]


async def test_a_model_that_cannot_load_is_a_503_not_a_crash(
    search: SearchService, indexes: FakeIndexes
) -> None:
    async def missing(spec: ModelSpec | None = None) -> EmbeddingIndex:
        raise FileNotFoundError("no sentence-transformers model in /secret/path")

    indexes.index = missing  # type: ignore[method-assign]
    with pytest.raises(UpstreamUnavailable) as caught:
        await search.search(TENANT, SearchQuery(query="q"), index_model="onnx:/secret/path")
    assert caught.value.code == "index_model_unavailable"
    assert "/secret/path" not in caught.value.detail
