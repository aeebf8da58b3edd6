"""``POST /v1/query``: a grounded answer with citations, whole or streamed as server-sent events.

The search and the first answer event (the numbered sources) are awaited before the response
starts, so a refused query or an unavailable retrieval is an ordinary problem+json response
with its status code; only failures after that travel as an ``error`` event.
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import Field

from ragline_common.contracts.answer import AnswerRequest
from ragline_common.contracts.search import SearchQuery
from ragline_common.http.streaming import CancellableStreamingResponse
from ragline_common.tenancy import TenantId
from ragline_gateway.api.schemas import QueryOut
from ragline_gateway.api.sse import (
    EVENT_STREAM_MEDIA_TYPE,
    STREAM_HEADERS,
    answer_sse,
    event_stream_doc,
    first_event,
)
from ragline_gateway.context import GatewayContext
from ragline_gateway.deps import ContextDep, GenerationTenant
from ragline_gateway.domain.usage import billed, record_usage
from ragline_gateway.domain.visibility import visible_search

router = APIRouter(prefix="/v1", tags=["answers"])


class QueryIn(SearchQuery):
    """A search query, plus how to answer it."""

    stream: bool = False
    """``true``: ``text/event-stream`` with events citations, delta..., done (or error)."""
    model: str | None = Field(default=None, max_length=200)
    """One of ``GET /v1/models``; unset means the deployment's default."""

    def search_query(self) -> SearchQuery:
        return SearchQuery.model_validate(self.model_dump(exclude={"stream", "model"}))


_STREAM_DOC = {
    200: {
        "description": "The answer; with `stream: true`, server-sent events",
        "content": event_stream_doc(("citations", "delta", "done", "error")),
    },
    404: {"description": "Unknown model"},
    503: {"description": "Retrieval or generation is unavailable"},
}


@router.post(
    "/query",
    response_model=QueryOut,
    summary="A grounded answer with citations (optionally streamed)",
    responses=_STREAM_DOC,  # type: ignore[arg-type]
)
async def query(
    body: QueryIn, context: ContextDep, tenant_id: GenerationTenant
) -> QueryOut | CancellableStreamingResponse:
    found = await visible_search(context.search, context.catalog, tenant_id, body.search_query())
    request = AnswerRequest(question=body.query, chunks=found.results, model=body.model)
    if body.stream:
        return await stream_answer(context, tenant_id, request)
    answer = await context.answers.answer(tenant_id, request)
    await record_usage(
        context.catalog, tenant_id, answer.usage, mode=answer.mode, degraded=answer.degraded
    )
    return QueryOut(
        answer=answer.answer,
        citations=answer.citations,
        mode=answer.mode,
        degraded=answer.degraded,
        degraded_reason=answer.degraded_reason,
        usage=answer.usage,
    )


async def stream_answer(
    context: GatewayContext, tenant_id: TenantId, request: AnswerRequest
) -> CancellableStreamingResponse:
    events = billed(context.catalog, tenant_id, context.answers.stream(tenant_id, request))
    first = await first_event(events)
    return CancellableStreamingResponse(
        answer_sse(first, events),
        media_type=EVENT_STREAM_MEDIA_TYPE,
        headers=STREAM_HEADERS,
    )
