"""The retrieval service as a hostable component (see :mod:`ragline_common.hosting`).

It provides :data:`~ragline_common.hosting.SEARCH_API` and requires nothing.
"""

from __future__ import annotations

from functools import partial

from ragline_common.adapters.sparse.bm25 import Bm25SparseEncoder
from ragline_common.contracts.search import SearchApi
from ragline_common.hosting import SEARCH_API, ComponentHost, ping_default_index
from ragline_common.http.internal_api import InternalApiComponent
from ragline_common.indexing.model_spec import ModelSpec
from ragline_retrieval.adapters.cross_encoder import CrossEncoderReranker
from ragline_retrieval.api.internal import internal_router
from ragline_retrieval.domain.query_cache import QueryEmbeddingCache
from ragline_retrieval.domain.rerank import Reranker
from ragline_retrieval.domain.search import SearchService
from ragline_retrieval.search_metrics import MeasuredSearchApi
from ragline_retrieval.settings import RetrievalSettings


class RetrievalComponent(InternalApiComponent[SearchApi]):
    def __init__(self, settings: RetrievalSettings | None = None) -> None:
        """``settings`` defaults to the environment, read when the component starts."""
        super().__init__(name="retrieval", api=SEARCH_API, router=internal_router)
        self._settings = settings

    async def start(self, host: ComponentHost) -> None:
        settings = self._settings if self._settings is not None else RetrievalSettings()
        embedder = await host.embedder()
        await embedder.warm_up()
        store = await host.vector_store()
        host.checks.setdefault("vector_store", partial(ping_default_index, host))
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
                # Other models' indexes, named by the gateway during and after a reindex.
                indexes=host.indexes,
                default_index_model=str(ModelSpec.default(host.settings.embedder)),
            )
        )
        self.serve(host, service)
