"""Which search hits a reader may see: only chunks of each document's current version.

The vector store briefly holds two versions of a re-uploaded document (the new one is written
before the old one is pruned) and may hold chunks of a document deleted a moment ago. The
catalog says which version is current, so filtering here makes the switch atomic for readers.
"""

from __future__ import annotations

from collections.abc import Sequence

from ragline_common.contracts.search import MAX_TOP_K, SearchHit, SearchQuery
from ragline_common.ports.catalog import Catalog
from ragline_common.tenancy import TenantId
from ragline_gateway.domain.near_duplicates import without_near_duplicates

_HEADROOM = 2
"""Fetch this many times ``top_k``: hidden hits and near-duplicates are rare (hidden ones only
during a switch), so a small margin keeps result lists full without a much larger search."""


def widened(query: SearchQuery) -> SearchQuery:
    return query.model_copy(update={"top_k": min(MAX_TOP_K, query.top_k * _HEADROOM)})


async def visible_hits(
    catalog: Catalog, tenant_id: TenantId, hits: Sequence[SearchHit], top_k: int
) -> list[SearchHit]:
    current = await catalog.active_versions(tenant_id, [hit.document_id for hit in hits])
    visible = [hit for hit in hits if current.get(hit.document_id) == hit.version]
    return without_near_duplicates(visible, top_k)
