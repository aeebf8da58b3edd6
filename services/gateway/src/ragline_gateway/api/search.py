"""Search route: the gateway forwards, retrieval works (answers: ``api/answers.py``)."""

from __future__ import annotations

from fastapi import APIRouter

from ragline_common.contracts.search import SearchQuery
from ragline_gateway.api.schemas import SearchOut
from ragline_gateway.deps import ContextDep, QueryTenant
from ragline_gateway.domain.visibility import visible_search

router = APIRouter(prefix="/v1", tags=["search"])


@router.post("/search", response_model=SearchOut, summary="Ranked chunks for a query")
async def search(body: SearchQuery, context: ContextDep, tenant_id: QueryTenant) -> SearchOut:
    result = await visible_search(context.search, context.catalog, tenant_id, body)
    return SearchOut.model_validate(result, from_attributes=True)
