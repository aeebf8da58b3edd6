"""Search latency measured at the retrieval service boundary.

Wrapping the ``SearchApi`` object (rather than instrumenting inside the search code) measures
the same thing in-process and behind the internal HTTP route, and stays correct whatever the
search does inside (dense, sparse, fusion, rerank).
"""

from __future__ import annotations

import time

from ragline_common.contracts.search import (
    ChunkPage,
    ChunkPageRequest,
    SearchApi,
    SearchQuery,
    SearchResult,
)
from ragline_common.observability.metrics import SEARCH_LATENCY
from ragline_common.tenancy import TenantId


class MeasuredSearchApi:
    """A ``SearchApi`` that records ``ragline_search_duration_seconds`` around each search."""

    def __init__(self, inner: SearchApi) -> None:
        self.inner = inner

    async def search(
        self, tenant_id: TenantId, query: SearchQuery, *, index_model: str | None = None
    ) -> SearchResult:
        started = time.perf_counter()
        outcome = "error"
        try:
            result = await self.inner.search(tenant_id, query, index_model=index_model)
            outcome = "ok"
            return result
        finally:
            SEARCH_LATENCY.labels(outcome).observe(time.perf_counter() - started)

    async def list_chunks(
        self, tenant_id: TenantId, request: ChunkPageRequest, *, index_model: str | None = None
    ) -> ChunkPage:
        return await self.inner.list_chunks(tenant_id, request, index_model=index_model)
