"""Internal answer endpoint: the gateway's route to a generation service in another process.

Guarded by the shared internal token (see :mod:`ragline_common.http.internal_api`): the body
names the tenant, which only the gateway may choose.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Request

from ragline_common.clients.answer_http import ANSWER_PATH
from ragline_common.contracts.answer import Answer, AnswerApi, InternalAnswerRequest
from ragline_common.http.internal_api import internal_api_router
from ragline_common.http.internal_auth import TokenSource


def internal_router(*, service: Callable[[], AnswerApi], internal_token: TokenSource) -> APIRouter:
    """``service`` is resolved per request: routers exist before the component has started."""
    router = internal_api_router(internal_token)

    @router.post(
        ANSWER_PATH,
        summary="Answer a question from retrieved chunks, with citations (service-to-service)",
        responses={
            422: {"description": "Invalid request"},
            503: {"description": "The language model is unavailable"},
        },
    )
    async def answer(body: InternalAnswerRequest, request: Request) -> Answer:
        request.state.tenant_id = body.tenant_id
        return await service().answer(body.tenant_id, body.request)

    return router
