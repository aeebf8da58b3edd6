"""Which search hits a reader may see: only chunks of each document's current version.

The vector store briefly holds two versions of a re-uploaded document (the new one is written
before the old one is pruned) and may hold chunks of a document deleted a moment ago. The
catalog says which version is current, so filtering here makes the switch atomic for readers.
Near-identical chunks are dropped after that filter (see :mod:`near_duplicates`).

Filtering can only shorten a result list, so the search asks for a few hits more than
``top_k``; when the filters still leave too few, and the store had more to give, it searches
once more, deeper. Hidden hits exist only during a version switch and duplicates are rare, so
the second search is the exception: asking for twice ``top_k`` every time instead cost every
search about 0.4 ms on two cores (a larger fusion prefetch and twice the hits to build).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ragline_common.contracts.search import (
    MAX_TOP_K,
    SearchApi,
    SearchHit,
    SearchQuery,
    SearchResult,
)
from ragline_common.tenancy import TenantId
from ragline_gateway.domain.near_duplicates import without_near_duplicates


class CurrentVersions(Protocol):
    """The part of the catalog this needs (see ``DocumentStore.active_versions``)."""

    async def active_versions(
        self, tenant_id: TenantId, document_ids: Sequence[str]
    ) -> dict[str, int]: ...


REFILL_FACTOR = 4
"""How much deeper the second search goes, as a multiple of ``top_k``."""


def first_fetch(top_k: int) -> int:
    """``top_k`` plus a fifth, at least two: a pair of duplicates or a document mid-switch
    costs no second search. Up to 12 hits the hybrid prefetch (at least 50 per side) is
    unchanged, so the headroom costs the engine nothing at the default ``top_k`` of 10."""
    return min(MAX_TOP_K, top_k + max(2, top_k // 5))


async def visible_search(
    search: SearchApi, catalog: CurrentVersions, tenant_id: TenantId, query: SearchQuery
) -> SearchResult:
    """The first ``query.top_k`` hits a reader may see, without near-duplicates."""
    fetch = first_fetch(query.top_k)
    result = await search.search(tenant_id, query.model_copy(update={"top_k": fetch}))
    hits = await _visible(catalog, tenant_id, result.results, query.top_k)
    deeper = min(MAX_TOP_K, query.top_k * REFILL_FACTOR)
    if len(hits) < query.top_k and len(result.results) == fetch and deeper > fetch:
        result = await search.search(tenant_id, query.model_copy(update={"top_k": deeper}))
        hits = await _visible(catalog, tenant_id, result.results, query.top_k)
    return SearchResult(results=hits, mode=result.mode)


async def _visible(
    catalog: CurrentVersions, tenant_id: TenantId, hits: Sequence[SearchHit], top_k: int
) -> list[SearchHit]:
    current = await catalog.active_versions(tenant_id, [hit.document_id for hit in hits])
    visible = [hit for hit in hits if current.get(hit.document_id) == hit.version]
    return without_near_duplicates(visible, top_k)
