"""Search route: the gateway forwards, retrieval works (answers: ``api/answers.py``).

The request reads the active index model once and searches only it (ADR 0018); the response
says which one answered.
"""

from __future__ import annotations

from fastapi import APIRouter

from ragline_common.contracts.search import SearchQuery
from ragline_gateway.api.schemas import SearchOut
from ragline_gateway.deps import ContextDep, QueryTenant
from ragline_gateway.domain.reindex_reads import pin
from ragline_gateway.domain.visibility import visible_search

router = APIRouter(prefix="/v1", tags=["search"])


class SearchResponse(SearchOut):
    index_model: str
    """The embedding model (``KIND`` or ``KIND:MODEL``) whose index answered."""


@router.post("/search", response_model=SearchResponse, summary="Ranked chunks for a query")
async def search(body: SearchQuery, context: ContextDep, tenant_id: QueryTenant) -> SearchResponse:
    pinned = await pin(context.search, context.indexes)
    result = await visible_search(pinned, context.catalog, tenant_id, body)
    return SearchResponse(results=result.results, mode=result.mode, index_model=pinned.index_model)
