"""Search route: the gateway forwards, retrieval works (answers: ``api/query.py``)."""

from __future__ import annotations

from fastapi import APIRouter

from ragline_common.contracts.search import SearchHit, SearchQuery
from ragline_common.tenancy import TenantId
from ragline_gateway.api.schemas import SearchOut
from ragline_gateway.context import GatewayContext
from ragline_gateway.deps import ContextDep, QueryTenant
from ragline_gateway.domain.visibility import visible_hits, widened

router = APIRouter(prefix="/v1", tags=["search"])


async def _search(
    context: GatewayContext, tenant_id: TenantId, body: SearchQuery
) -> tuple[list[SearchHit], str]:
    result = await context.search.search(tenant_id, widened(body))
    hits = await visible_hits(context.catalog, tenant_id, result.results, body.top_k)
    return hits, result.mode


@router.post("/search", response_model=SearchOut, summary="Ranked chunks for a query")
async def search(body: SearchQuery, context: ContextDep, tenant_id: QueryTenant) -> SearchOut:
    hits, mode = await _search(context, tenant_id, body)
    return SearchOut(results=hits, mode=mode)
