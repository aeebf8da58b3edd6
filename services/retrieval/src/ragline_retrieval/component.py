"""The retrieval service as a hostable component (see :mod:`ragline_common.hosting`).

It provides :data:`~ragline_common.hosting.SEARCH_API` and requires nothing.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from fastapi import APIRouter
from starlette.middleware import Middleware

from ragline_common.adapters.sparse.bm25 import Bm25SparseEncoder
from ragline_common.contracts.search import SearchApi
from ragline_common.hosting import SEARCH_API, Api, ComponentHost, Requirement
from ragline_common.http.internal_api import StartedApi
from ragline_retrieval.adapters.cross_encoder import CrossEncoderReranker
from ragline_retrieval.api.internal import internal_router
from ragline_retrieval.domain.query_cache import QueryEmbeddingCache
from ragline_retrieval.domain.rerank import Reranker
from ragline_retrieval.domain.search import SearchService
from ragline_retrieval.search_metrics import MeasuredSearchApi
from ragline_retrieval.settings import RetrievalSettings


class RetrievalComponent:
    def __init__(self, settings: RetrievalSettings | None = None) -> None:
        """``settings`` defaults to the environment, read when the component starts."""
        self._settings = settings
        self._internal: StartedApi[SearchApi] = StartedApi("retrieval")

    @property
    def name(self) -> str:
        return "retrieval"

    @property
    def provides(self) -> Collection[Api[Any]]:
        return (SEARCH_API,)

    @property
    def requires(self) -> Collection[Requirement[Any]]:
        return ()

    def routers(self, *, internal_api: bool) -> Sequence[APIRouter]:
        if not internal_api:
            return []
        return [internal_router(service=self._internal.api, internal_token=self._internal.token)]

    def middleware(self) -> Sequence[Middleware]:
        """None of its own: the shared request middleware is all an internal route needs."""
        return ()

    async def start(self, host: ComponentHost) -> None:
        settings = self._settings if self._settings is not None else RetrievalSettings()
        embedder = await host.embedder()
        await embedder.warm_up()
        store = await host.vector_store()
        host.checks.setdefault("vector_store", store.ping)
        reranker: Reranker | None = None
        if settings.rerank_model_path is not None:
            reranker = CrossEncoderReranker(settings.rerank_model_path)
            await reranker.warm_up()
        service = MeasuredSearchApi(
            SearchService(
                embedder=embedder,
                store=store,
                default_mode=settings.default_mode,
                cache=QueryEmbeddingCache(settings.query_cache_size),
                # The same encoder (and so the same term ids) as ingestion's: see ADR 0010.
                sparse_encoder=Bm25SparseEncoder(),
                fusion=settings.fusion,
                reranker=reranker,
                rerank_candidates=settings.rerank_candidates,
            )
        )
        self._internal.bind(service, host.settings.core.internal_token)
        host.provide(SEARCH_API, service)
