"""``SearchApi`` over HTTP: the gateway's view of a retrieval service in another process."""

from __future__ import annotations

from pydantic import SecretStr

from ragline_common.clients.internal_http import InternalHttpClient
from ragline_common.contracts.search import (
    ChunkPage,
    ChunkPageRequest,
    InternalChunkPageRequest,
    InternalSearchRequest,
    SearchQuery,
    SearchResult,
)
from ragline_common.http.internal_routes import CHUNKS_PATH, SEARCH_PATH
from ragline_common.tenancy import TenantId


class HttpSearchClient:
    def __init__(
        self, base_url: str, internal_token: SecretStr | str | None, timeout_s: float = 10.0
    ) -> None:
        self._client = InternalHttpClient(
            peer="retrieval", base_url=base_url, internal_token=internal_token, timeout_s=timeout_s
        )

    async def search(
        self, tenant_id: TenantId, query: SearchQuery, *, index_model: str | None = None
    ) -> SearchResult:
        request = InternalSearchRequest(tenant_id=tenant_id, query=query, index_model=index_model)
        return await self._client.post(SEARCH_PATH, request, SearchResult)

    async def list_chunks(
        self, tenant_id: TenantId, request: ChunkPageRequest, *, index_model: str | None = None
    ) -> ChunkPage:
        body = InternalChunkPageRequest(tenant_id=tenant_id, page=request, index_model=index_model)
        return await self._client.post(CHUNKS_PATH, body, ChunkPage)

    async def ping(self) -> None:
        await self._client.ping()

    async def aclose(self) -> None:
        await self._client.aclose()
