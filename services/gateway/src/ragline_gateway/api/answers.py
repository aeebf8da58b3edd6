"""``POST /v1/query``: a grounded answer with citations, whole or streamed as server-sent events.

The answering itself (search, answer, billing) is :class:`~ragline_gateway.domain.answering.
Answering`, shared with the chat completions; this route reads Ragline's request format and
writes Ragline's response format. A stream starts only once its first event has arrived, so a
refused query or an unavailable retrieval is an ordinary problem+json response.
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import Field

from ragline_common.contracts.search import SearchQuery
from ragline_common.http.streaming import CancellableStreamingResponse
from ragline_gateway.api.schemas import QueryOut
from ragline_gateway.api.sse import answer_sse, event_stream_doc, event_stream_response
from ragline_gateway.deps import AnsweringDep, GenerationTenant

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
    body: QueryIn, answering: AnsweringDep, tenant_id: GenerationTenant
) -> QueryOut | CancellableStreamingResponse:
    if body.stream:
        stream = await answering.stream(tenant_id, body.search_query(), body.model)
        return event_stream_response(answer_sse(stream))
    answer = await answering.answer(tenant_id, body.search_query(), body.model)
    return QueryOut.model_validate(answer, from_attributes=True)
