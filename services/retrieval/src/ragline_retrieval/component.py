"""The retrieval service as a hostable component (see :mod:`ragline_common.hosting`)."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter
from starlette.middleware import Middleware

from ragline_common.contracts.search import SearchApi
from ragline_common.hosting import Host
from ragline_common.http.internal_api import StartedApi
from ragline_retrieval.api.internal import internal_router
from ragline_retrieval.domain.query_cache import QueryEmbeddingCache
from ragline_retrieval.domain.search import SearchService
from ragline_retrieval.settings import RetrievalSettings


class RetrievalComponent:
    def __init__(self, settings: RetrievalSettings | None = None) -> None:
        """``settings`` defaults to the environment, read when the component starts."""
        self._settings = settings
        self._internal: StartedApi[SearchApi] = StartedApi("retrieval")

    @property
    def name(self) -> str:
        return "retrieval"

    def routers(self, *, internal_api: bool) -> Sequence[APIRouter]:
        if not internal_api:
            return []
        return [internal_router(service=self._internal.api, internal_token=self._internal.token)]

    def middleware(self) -> Sequence[Middleware]:
        """None of its own: the shared request middleware is all an internal route needs."""
        return ()

    async def start(self, host: Host) -> None:
        settings = self._settings if self._settings is not None else RetrievalSettings()
        embedder = await host.embedder()
        await embedder.warm_up()
        store = await host.vector_store()
        host.checks.setdefault("vector_store", store.ping)
        service = SearchService(
            embedder=embedder,
            store=store,
            default_mode=settings.default_mode,
            cache=QueryEmbeddingCache(settings.query_cache_size),
        )
        self._internal.bind(service, host.settings.core.internal_token)
        host.search_api = service
