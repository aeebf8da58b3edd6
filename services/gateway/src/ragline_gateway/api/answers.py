"""Search and question answering routes: the gateway forwards, retrieval and generation work."""

from __future__ import annotations

from fastapi import APIRouter

from ragline_common.contracts.answer import AnswerRequest
from ragline_common.contracts.search import SearchQuery
from ragline_gateway.api.schemas import QueryOut, SearchOut
from ragline_gateway.deps import ContextDep, QueryTenant

router = APIRouter(prefix="/v1", tags=["search"])


@router.post("/search", response_model=SearchOut, summary="Ranked chunks for a query")
async def search(body: SearchQuery, context: ContextDep, tenant_id: QueryTenant) -> SearchOut:
    result = await context.search.search(tenant_id, body)
    return SearchOut(results=result.results, mode=result.mode)


@router.post("/query", response_model=QueryOut, summary="A grounded answer with citations")
async def query(body: SearchQuery, context: ContextDep, tenant_id: QueryTenant) -> QueryOut:
    found = await context.search.search(tenant_id, body)
    answer = await context.answers.answer(
        tenant_id, AnswerRequest(question=body.query, chunks=found.results)
    )
    return QueryOut(
        answer=answer.answer,
        citations=answer.citations,
        mode=answer.mode,
        degraded=answer.degraded,
        degraded_reason=answer.degraded_reason,
        usage=answer.usage,
    )
