"""The chunks an answer is grounded on: a search, less what readers may not see yet."""

from __future__ import annotations

from ragline_common.contracts.search import SearchApi, SearchHit, SearchQuery
from ragline_common.ports.catalog import Catalog
from ragline_common.tenancy import TenantId
from ragline_gateway.domain.visibility import visible_hits, widened


async def grounding_hits(
    search: SearchApi, catalog: Catalog, tenant_id: TenantId, query: SearchQuery
) -> list[SearchHit]:
    result = await search.search(tenant_id, widened(query))
    return await visible_hits(catalog, tenant_id, result.results, query.top_k)
