"""Internal search endpoint: the gateway's route to a retrieval service in another process.

The tenant travels in the body because the gateway resolved it from the caller's credentials;
the shared internal token (see :mod:`ragline_common.http.internal_api`) keeps anyone else from
choosing it.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Request

from ragline_common.contracts.search import (
    ChunkPage,
    InternalChunkPageRequest,
    InternalSearchRequest,
    SearchApi,
    SearchResult,
)
from ragline_common.http.internal_api import acting_tenant, internal_api_router
from ragline_common.http.internal_auth import TokenSource
from ragline_common.http.internal_routes import CHUNKS_PATH, SEARCH_PATH


def internal_router(*, service: Callable[[], SearchApi], internal_token: TokenSource) -> APIRouter:
    """``service`` is resolved per request: routers exist before the component has started."""
    router = internal_api_router(internal_token)

    @router.post(
        SEARCH_PATH,
        summary="Search one tenant's chunks (service-to-service)",
        responses={
            422: {"description": "Invalid query, filter, index model or unavailable mode"},
            503: {"description": "The embedder or vector store is unavailable"},
        },
    )
    async def search(body: InternalSearchRequest, request: Request) -> SearchResult:
        return await service().search(
            acting_tenant(request, body), body.query, index_model=body.index_model
        )

    @router.post(
        CHUNKS_PATH,
        summary="One page of a document version's chunks (service-to-service)",
        responses={503: {"description": "The vector store is unavailable"}},
    )
    async def chunks(body: InternalChunkPageRequest, request: Request) -> ChunkPage:
        return await service().list_chunks(
            acting_tenant(request, body), body.page, index_model=body.index_model
        )

    return router
