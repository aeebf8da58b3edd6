"""Internal answer endpoints: the gateway's route to a generation service in another process.

Guarded by the shared internal token (see :mod:`ragline_common.http.internal_api`): the body
names the tenant, which only the gateway may choose.

The streamed answer is newline-delimited JSON, one :data:`AnswerEvent` per line, each written
as soon as it exists. When the gateway closes the connection, Starlette cancels the response,
which closes the event iterator and with it the model's HTTP stream.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from contextlib import aclosing
from typing import Any

import structlog
from fastapi import APIRouter, Request

from ragline_common.contracts.answer import (
    Answer,
    AnswerApi,
    AnswerEvent,
    ErrorEvent,
    InternalAnswerRequest,
    InternalRewriteRequest,
    ModelList,
    RewrittenQuestion,
)
from ragline_common.http.internal_api import acting_tenant, internal_api_router
from ragline_common.http.internal_auth import TokenSource
from ragline_common.http.internal_routes import (
    ANSWER_PATH,
    ANSWER_STREAM_PATH,
    MODELS_PATH,
    NDJSON_MEDIA_TYPE,
    REWRITE_PATH,
)
from ragline_common.http.streaming import CancellableStreamingResponse
from ragline_common.problem import problem_body

_log = structlog.get_logger(__name__)

_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "Unknown model"},
    422: {"description": "Invalid request"},
    503: {"description": "The language model is unavailable"},
}


def internal_router(*, service: Callable[[], AnswerApi], internal_token: TokenSource) -> APIRouter:
    """``service`` is resolved per request: routers exist before the component has started."""
    router = internal_api_router(internal_token)

    @router.post(
        ANSWER_PATH,
        summary="Answer a question from retrieved chunks, with citations (service-to-service)",
        responses=_ERRORS,
    )
    async def answer(body: InternalAnswerRequest, request: Request) -> Answer:
        return await service().answer(acting_tenant(request, body), body.request)

    @router.post(
        ANSWER_STREAM_PATH,
        summary="The same answer as newline-delimited JSON events, as they are produced",
        response_class=CancellableStreamingResponse,
        responses=_ERRORS,
    )
    async def answer_stream(
        body: InternalAnswerRequest, request: Request
    ) -> CancellableStreamingResponse:
        events = service().stream(acting_tenant(request, body), body.request)
        # The first event (the sources) is awaited here, so a refused request (unknown model,
        # too many chunks) is still an HTTP error, not a stream that starts and then fails.
        first = await anext(events)
        return CancellableStreamingResponse(_lines(first, events), media_type=NDJSON_MEDIA_TYPE)

    @router.post(
        REWRITE_PATH,
        summary="Restate a follow-up question so it stands alone (service-to-service)",
        responses=_ERRORS,
    )
    async def rewrite(body: InternalRewriteRequest, request: Request) -> RewrittenQuestion:
        return await service().rewrite(acting_tenant(request, body), body.request)

    @router.get(MODELS_PATH, summary="Models this service can answer with")
    async def models() -> ModelList:
        return await service().models()

    return router


async def _lines(
    first: AnswerEvent, events: AsyncGenerator[AnswerEvent, None]
) -> AsyncGenerator[str, None]:
    async with aclosing(events):
        yield first.model_dump_json() + "\n"
        try:
            async for event in events:
                yield event.model_dump_json() + "\n"
        except Exception as exc:  # the headers are out: report in-band, then end the stream
            _log.exception("answer_stream_failed")
            yield ErrorEvent(problem=problem_body(exc)).model_dump_json() + "\n"
