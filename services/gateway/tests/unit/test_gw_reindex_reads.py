"""One request reads one index: the spec is read once (cached <= the TTL) and pinned."""

from __future__ import annotations

from ragline_common.adapters.broker.memory import MemoryBroker
from ragline_common.contracts.search import (
    ChunkPage,
    ChunkPageRequest,
    SearchHit,
    SearchQuery,
    SearchResult,
)
from ragline_common.tenancy import TenantId
from ragline_gateway.adapters.catalog import SqlCatalog
from ragline_gateway.domain.reindex import IndexModels
from ragline_gateway.domain.reindex_reads import pin
from ragline_gateway.domain.visibility import visible_search

TENANT = TenantId("ten_a")


class NamedSearch:
    """Records which index each call named; returns a full page of hidden hits, so
    ``visible_search`` searches a second time, deeper."""

    def __init__(self) -> None:
        self.named: list[str | None] = []

    async def search(
        self, tenant_id: TenantId, query: SearchQuery, *, index_model: str | None = None
    ) -> SearchResult:
        self.named.append(index_model)
        hits = [
            SearchHit(
                document_id=f"doc{i}",
                chunk_id=f"c{i}",
                text="t",
                score=1.0,
                metadata={},
                title="t",
                source_name="t.txt",
                version=1,
                chunk_index=0,
            )
            for i in range(query.top_k)
        ]
        return SearchResult(results=hits, mode="dense")

    async def list_chunks(
        self, tenant_id: TenantId, request: ChunkPageRequest, *, index_model: str | None = None
    ) -> ChunkPage:
        self.named.append(index_model)
        return ChunkPage(chunks=[])


async def test_every_search_of_a_request_names_the_same_index(catalog: SqlCatalog) -> None:
    broker = MemoryBroker()
    indexes = IndexModels(catalog, broker, default_spec="hash", ttl_s=60.0)
    search = NamedSearch()
    # Default active: named as nothing, as before reindexing existed.
    await visible_search(await pin(search, indexes), catalog, TENANT, SearchQuery(query="q"))
    assert search.named == [None, None]

    await catalog.start_reindex("onnx-int8", default_spec="hash")  # empty catalog: switches
    # Another replica's switch is seen once the cache expires, not before.
    assert await indexes.active() == "hash"
    indexes.forget()
    search.named.clear()
    pinned = await pin(search, indexes)
    await visible_search(pinned, catalog, TENANT, SearchQuery(query="q"))
    await pinned.list_chunks(
        TENANT, ChunkPageRequest(document_id="doc0", version=1, limit=1, offset=0)
    )

    assert search.named == ["onnx-int8", "onnx-int8", "onnx-int8"]
    assert pinned.index_model == "onnx-int8"
