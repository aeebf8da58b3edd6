"""Search: embed the query, search the tenant's chunks, shape the hits.

Only dense search exists so far. Sparse and hybrid search need a sparse query encoder; until one
is configured those modes are refused with a clear ``mode_unavailable`` error rather than being
silently served as dense.
"""

from __future__ import annotations

from opentelemetry import trace

from ragline_common.contracts.search import (
    ChunkPage,
    ChunkPageRequest,
    SearchHit,
    SearchQuery,
    SearchResult,
    StoredChunk,
)
from ragline_common.errors import ValidationFailed
from ragline_common.ids import chunk_point_id
from ragline_common.ports.embedder import Embedder
from ragline_common.ports.vector_store import ScoredChunk, SearchMode, VectorStore
from ragline_common.tenancy import TenantId
from ragline_retrieval.domain.filters import to_conditions
from ragline_retrieval.domain.query_cache import QueryEmbeddingCache

AVAILABLE_MODES: frozenset[SearchMode] = frozenset({"dense"})

_tracer = trace.get_tracer("ragline.retrieval")


def to_hit(chunk: ScoredChunk) -> SearchHit:
    payload = chunk.payload
    return SearchHit(
        document_id=payload.document_id,
        chunk_id=chunk.id,
        text=payload.text,
        score=chunk.score,
        metadata=payload.metadata,
        title=payload.title,
        source_name=payload.source_name,
        version=payload.version,
        chunk_index=payload.chunk_index,
        heading_path=payload.heading_path,
        page=payload.page,
    )


class SearchService:
    """Implements ``SearchApi`` in-process; the internal HTTP route serves the same object."""

    def __init__(
        self,
        *,
        embedder: Embedder,
        store: VectorStore,
        default_mode: SearchMode,
        cache: QueryEmbeddingCache,
    ) -> None:
        if default_mode not in AVAILABLE_MODES:
            raise ValueError(
                f"RAGLINE_RETRIEVAL_DEFAULT_MODE={default_mode!r} is not available; "
                f"choose one of {sorted(AVAILABLE_MODES)}."
            )
        self._embedder = embedder
        self._store = store
        self._default_mode = default_mode
        self._cache = cache

    async def search(self, tenant_id: TenantId, query: SearchQuery) -> SearchResult:
        mode = query.mode or self._default_mode
        if mode not in AVAILABLE_MODES:
            raise ValidationFailed(
                f"Search mode {mode!r} needs a sparse encoder, which this deployment does not "
                f"have; use one of {sorted(AVAILABLE_MODES)}.",
                code="mode_unavailable",
            )
        conditions = to_conditions(query.filters)
        dense = await self._embed(tenant_id, query.query)
        with _tracer.start_as_current_span("retrieval.search") as span:
            span.set_attribute("ragline.search.mode", mode)
            span.set_attribute("ragline.search.top_k", query.top_k)
            span.set_attribute("ragline.search.conditions", len(conditions))
            chunks = await self._store.search(
                tenant_id,
                mode=mode,
                dense=dense,
                sparse=None,
                limit=query.top_k,
                conditions=conditions,
            )
            span.set_attribute("ragline.search.hits", len(chunks))
        if query.min_score is not None:
            chunks = [chunk for chunk in chunks if chunk.score >= query.min_score]
        return SearchResult(results=[to_hit(chunk) for chunk in chunks], mode=mode)

    async def list_chunks(self, tenant_id: TenantId, request: ChunkPageRequest) -> ChunkPage:
        payloads = await self._store.list_chunks(
            tenant_id,
            request.document_id,
            limit=request.limit,
            offset=request.offset,
            version=request.version,
        )
        return ChunkPage(
            chunks=[
                StoredChunk(
                    chunk_id=chunk_point_id(
                        tenant_id, payload.document_id, payload.version, payload.chunk_index
                    ),
                    document_id=payload.document_id,
                    version=payload.version,
                    chunk_index=payload.chunk_index,
                    text=payload.text,
                    title=payload.title,
                    source_name=payload.source_name,
                    content_type=payload.content_type,
                    heading_path=payload.heading_path,
                    page=payload.page,
                    char_start=payload.char_start,
                    char_end=payload.char_end,
                    metadata=payload.metadata,
                )
                for payload in payloads
            ]
        )

    async def _embed(self, tenant_id: TenantId, text: str) -> tuple[float, ...]:
        key = (tenant_id, self._embedder.model_id, text)
        with _tracer.start_as_current_span("retrieval.embed") as span:
            span.set_attribute("ragline.embed.model", self._embedder.model_id)
            cached = self._cache.get(key)
            span.set_attribute("ragline.embed.cache_hit", cached is not None)
            if cached is not None:
                return cached
            vector = tuple(await self._embedder.embed_query(text))
        self._cache.put(key, vector)
        return vector
