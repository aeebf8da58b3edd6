"""A search shows each document's current version only, and still fills ``top_k`` when it can."""

from __future__ import annotations

from collections.abc import Sequence

from ragline_common.contracts.search import (
    ChunkPage,
    ChunkPageRequest,
    SearchHit,
    SearchQuery,
    SearchResult,
)
from ragline_common.tenancy import TenantId
from ragline_gateway.domain.visibility import first_fetch, visible_search

TENANT = TenantId("ten_a")
TOP_TEN = SearchQuery(query="q", top_k=10)


def hit(n: int, *, version: int = 1, text: str | None = None) -> SearchHit:
    return SearchHit(
        document_id=f"doc{n}",
        chunk_id=f"chunk{n}",
        text=text if text is not None else f"passage number {n} about topic {n * 7}",
        score=1.0 / (n + 1),
        metadata={},
        title="t",
        source_name="s",
        version=version,
        chunk_index=0,
    )


class RankedIndex:
    """A store holding ``hits`` in rank order; records the depth of every search."""

    def __init__(self, hits: Sequence[SearchHit]) -> None:
        self.hits = list(hits)
        self.depths: list[int] = []

    async def search(self, tenant_id: TenantId, query: SearchQuery) -> SearchResult:
        assert tenant_id == TENANT
        self.depths.append(query.top_k)
        return SearchResult(results=self.hits[: query.top_k], mode="hybrid")

    async def list_chunks(self, tenant_id: TenantId, request: ChunkPageRequest) -> ChunkPage:
        raise AssertionError("not used")


class Versions:
    """The catalog's answer: the current version of each document (absent: none visible)."""

    def __init__(self, current: dict[str, int]) -> None:
        self.current = current

    async def active_versions(
        self, tenant_id: TenantId, document_ids: Sequence[str]
    ) -> dict[str, int]:
        assert tenant_id == TENANT
        return {d: self.current[d] for d in document_ids if d in self.current}


def chunk_ids(result: SearchResult) -> list[str]:
    return [h.chunk_id for h in result.results]


async def test_a_quiet_index_is_searched_once_a_little_deeper_than_top_k() -> None:
    index = RankedIndex([hit(n) for n in range(40)])
    catalog = Versions({f"doc{n}": 1 for n in range(40)})

    result = await visible_search(index, catalog, TENANT, TOP_TEN)

    assert chunk_ids(result) == [f"chunk{n}" for n in range(10)]
    assert index.depths == [12]
    assert result.mode == "hybrid"


async def test_hidden_hits_and_duplicates_beyond_the_headroom_mean_a_deeper_search() -> None:
    copy = "the same boilerplate paragraph that appears in every single report"
    hits = [hit(0), hit(1, version=2), hit(2, version=2), hit(3, version=2)]
    hits += [hit(n, text=copy) for n in range(4, 8)] + [hit(n) for n in range(8, 40)]
    index = RankedIndex(hits)
    # Documents 1-3 are mid-switch: version 2 is written but version 1 is still current.
    catalog = Versions({f"doc{n}": 1 for n in range(40)})

    result = await visible_search(index, catalog, TENANT, TOP_TEN)

    assert index.depths == [12, 40]
    assert chunk_ids(result) == ["chunk0", "chunk4"] + [f"chunk{n}" for n in range(8, 16)]


async def test_a_short_page_means_the_store_has_no_more_to_give() -> None:
    index = RankedIndex([hit(0), hit(1, version=2), hit(2)])
    catalog = Versions({"doc0": 1, "doc1": 1, "doc2": 1})

    result = await visible_search(index, catalog, TENANT, TOP_TEN)

    assert chunk_ids(result) == ["chunk0", "chunk2"]
    assert index.depths == [12]


def test_the_first_fetch_stays_within_the_search_bounds() -> None:
    assert first_fetch(1) == 3
    assert first_fetch(10) == 12
    assert first_fetch(50) == 60
    assert first_fetch(100) == 100
