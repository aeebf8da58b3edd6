"""One request, one index: a search API pinned to the spec the request read once.

A request asks :meth:`IndexModels.active` once and wraps retrieval in :class:`PinnedSearch`, so
everything it searches (the first search, the deeper second one of ``visible_search``, the
sources of an answer) comes from the same model even if reads switch meanwhile (ADR 0018).
The configured default travels as no name at all (retrieval's own default), as it did before
reindexing existed: a retrieval service configured apart from the gateway still finds it.
"""

from __future__ import annotations

from ragline_common.contracts.search import (
    ChunkPage,
    ChunkPageRequest,
    SearchApi,
    SearchQuery,
    SearchResult,
)
from ragline_common.tenancy import TenantId
from ragline_gateway.domain.reindex import IndexModels


class PinnedSearch:
    """:class:`SearchApi` over one index model."""

    def __init__(self, search: SearchApi, index_model: str, *, default_spec: str) -> None:
        self._search = search
        self.index_model = index_model
        self._named = None if index_model == default_spec else index_model

    async def search(
        self, tenant_id: TenantId, query: SearchQuery, *, index_model: str | None = None
    ) -> SearchResult:
        """Search the pinned index (``index_model`` is ignored: the pin decides)."""
        if self._named is None:
            return await self._search.search(tenant_id, query)
        return await self._search.search(tenant_id, query, index_model=self._named)

    async def list_chunks(
        self, tenant_id: TenantId, request: ChunkPageRequest, *, index_model: str | None = None
    ) -> ChunkPage:
        if self._named is None:
            return await self._search.list_chunks(tenant_id, request)
        return await self._search.list_chunks(tenant_id, request, index_model=self._named)


async def pin(search: SearchApi, indexes: IndexModels) -> PinnedSearch:
    """``search`` pinned to the index reads use now."""
    return PinnedSearch(search, await indexes.active(), default_spec=indexes.default_spec)


async def pinned(search: SearchApi, indexes: IndexModels | None) -> SearchApi:
    """``search`` pinned to the active index now; unchanged when reindexing is not wired."""
    return search if indexes is None else await pin(search, indexes)
