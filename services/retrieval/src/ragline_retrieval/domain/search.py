"""Search: encode the query, search the tenant's chunks, optionally rerank, shape the hits.

``dense`` compares MiniLM embeddings, ``sparse`` scores BM25 terms (IDF applied by the store,
over the tenant's own chunks),
``hybrid`` fuses both lists with reciprocal rank fusion inside the store (one query, two
prefetches). Without a sparse encoder only ``dense`` is offered, and the other modes are refused
with ``mode_unavailable`` rather than silently served as dense.

A query made only of stop words has no BM25 terms: ``sparse`` then finds nothing, and
``hybrid`` is served as ``dense`` (and says so in ``mode``), the only side that can rank it.

An embedder that refuses for good (a remote provider rejecting the key or the model, or
answering vectors of the wrong size) raises a permanent error, whose status (422) would blame
the client's query: a search answers it as a 503 with a fixed text instead, and the reason goes
to the log, where the operator who can fix the configuration looks.

Each search reads one model's index (issue 15): the one the request names, else the process's
default, and says which in ``index_model``. Query vectors are cached per index, never reused
across models.
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog
from opentelemetry import trace

from ragline_common.contracts.chunk import DocumentChunk
from ragline_common.contracts.search import (
    ChunkPage,
    ChunkPageRequest,
    SearchHit,
    SearchQuery,
    SearchResult,
    StoredChunk,
)
from ragline_common.errors import PermanentProcessingError, UpstreamUnavailable, ValidationFailed
from ragline_common.indexing.indexes import Indexes
from ragline_common.indexing.model_spec import ModelSpec, UnknownIndexModel
from ragline_common.ports.embedder import Embedder
from ragline_common.ports.sparse_encoder import SparseEncoder
from ragline_common.ports.vector_store import (
    DEFAULT_RRF,
    Rrf,
    ScoredChunk,
    SearchMode,
    SparseVector,
    VectorStore,
)
from ragline_common.tenancy import TenantId
from ragline_retrieval.domain.filters import to_conditions
from ragline_retrieval.domain.query_cache import QueryEmbeddingCache
from ragline_retrieval.domain.rerank import Reranker

DENSE_ONLY: frozenset[SearchMode] = frozenset({"dense"})
ALL_MODES: frozenset[SearchMode] = frozenset({"dense", "sparse", "hybrid"})

EMBEDDER_REFUSED_RETRY_AFTER_S = 60.0
"""A refusal lasts until an operator changes the configuration: no point retrying in seconds."""

_tracer = trace.get_tracer("ragline.retrieval")
_log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class _Index:
    """The index one search reads: its name as answered, its embedder and its store."""

    name: str
    embedder: Embedder
    store: VectorStore


_STORED_HIT_FIELDS = tuple(DocumentChunk.model_fields)
"""What a hit shows of the stored chunk (``SearchHit`` adds the point id and the score)."""


def to_hit(chunk: ScoredChunk) -> SearchHit:
    """The stored chunk as a hit: its fields as stored (the tenant and the indexing details
    left out), with the point id and the score this search gave it, and the word sketch for
    the gateway's near-duplicate check.

    The shown fields are read off the payload rather than dumped whole: ``model_dump`` of
    every stored field (metadata included) was a third of the cost of a hit.
    """
    payload = chunk.payload
    fields = {name: getattr(payload, name) for name in _STORED_HIT_FIELDS}
    return SearchHit.model_validate(
        fields | {"chunk_id": chunk.id, "score": chunk.score, "word_sketch": payload.word_sketch}
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
        sparse_encoder: SparseEncoder | None = None,
        fusion: Rrf = DEFAULT_RRF,
        reranker: Reranker | None = None,
        rerank_candidates: int = 30,
        indexes: Indexes | None = None,
        default_index_model: str = "default",
    ) -> None:
        """``embedder``/``store`` are the default index's, answered as ``default_index_model``;
        ``indexes`` opens the others a request names (without it, naming one is refused)."""
        self._modes = ALL_MODES if sparse_encoder is not None else DENSE_ONLY
        if default_mode not in self._modes:
            raise ValueError(
                f"RAGLINE_RETRIEVAL_DEFAULT_MODE={default_mode!r} is not available; "
                f"choose one of {sorted(self._modes)}."
            )
        self._default = _Index(default_index_model, embedder, store)
        self._indexes = indexes
        self._default_mode = default_mode
        self._cache = cache
        self._sparse_encoder = sparse_encoder
        self._fusion = fusion
        self._reranker = reranker
        self._rerank_candidates = rerank_candidates

    async def search(
        self, tenant_id: TenantId, query: SearchQuery, *, index_model: str | None = None
    ) -> SearchResult:
        index = await self._index(index_model)
        mode = query.mode or self._default_mode
        if mode not in self._modes:
            raise ValidationFailed(
                f"Search mode {mode!r} needs a sparse encoder, which this deployment does not "
                f"have; use one of {sorted(self._modes)}.",
                code="mode_unavailable",
            )
        conditions = to_conditions(query.filters)
        sparse = self._sparse(query.query) if mode != "dense" else None
        if sparse is not None and not sparse.indices:
            if mode == "sparse":
                return SearchResult(results=[], mode=mode, index_model=index.name)
            mode, sparse = "dense", None
        dense = await self._embed(index, tenant_id, query.query) if mode != "sparse" else None
        limit = query.top_k
        if self._reranker is not None:
            limit = max(limit, self._rerank_candidates)
        with _tracer.start_as_current_span("retrieval.search") as span:
            span.set_attribute("ragline.search.mode", mode)
            span.set_attribute("ragline.search.top_k", query.top_k)
            span.set_attribute("ragline.search.conditions", len(conditions))
            span.set_attribute("ragline.search.index_model", index.name)
            chunks = await index.store.search(
                tenant_id,
                mode=mode,
                dense=dense,
                sparse=sparse,
                limit=limit,
                conditions=conditions,
                fusion=self._fusion,
            )
            span.set_attribute("ragline.search.hits", len(chunks))
        if self._reranker is not None:
            chunks = await self._rerank(self._reranker, query.query, chunks)
        chunks = chunks[: query.top_k]
        if query.min_score is not None:
            chunks = [chunk for chunk in chunks if chunk.score >= query.min_score]
        return SearchResult(
            results=[to_hit(chunk) for chunk in chunks], mode=mode, index_model=index.name
        )

    async def list_chunks(
        self, tenant_id: TenantId, request: ChunkPageRequest, *, index_model: str | None = None
    ) -> ChunkPage:
        index = await self._index(index_model)
        payloads = await index.store.list_chunks(
            tenant_id,
            request.document_id,
            limit=request.limit,
            offset=request.offset,
            version=request.version,
        )
        return ChunkPage(
            chunks=[StoredChunk.model_validate(p, from_attributes=True) for p in payloads]
        )

    async def _index(self, index_model: str | None) -> _Index:
        """The index a request names; None (or the default by name) is the default's."""
        if index_model is None or index_model == self._default.name:
            return self._default
        try:
            spec = ModelSpec.parse(index_model)
        except UnknownIndexModel as exc:
            raise ValidationFailed(str(exc), code="unknown_index_model") from exc
        if self._indexes is None:
            raise ValidationFailed(
                f"This retrieval service reads only its default index, not {index_model!r}.",
                code="unknown_index_model",
            )
        try:
            # Opened once per process, then a dict lookup (see EmbeddingIndexes).
            opened = await self._indexes.index(spec)
        except (FileNotFoundError, ImportError, ValueError) as exc:
            # The model is not in this process (a wrong path, a backend not installed): the
            # operator's to fix, so the reason goes to the log and the client gets a 503.
            _log.error("index_model_unavailable", index_model=index_model, error=str(exc))
            raise UpstreamUnavailable(
                "The embedding model of this index cannot be opened.",
                code="index_model_unavailable",
                retry_after_s=EMBEDDER_REFUSED_RETRY_AFTER_S,
            ) from exc
        return _Index(str(spec), opened.embedder, opened.store)

    def _sparse(self, text: str) -> SparseVector:
        encoder = self._sparse_encoder
        if encoder is None:  # unreachable: such modes were refused above
            raise ValidationFailed("no sparse encoder", code="mode_unavailable")
        return encoder.encode_query(text)

    async def _rerank(
        self, reranker: Reranker, query: str, chunks: list[ScoredChunk]
    ) -> list[ScoredChunk]:
        """Re-score the candidates with the cross-encoder; its score replaces the fused one."""
        with _tracer.start_as_current_span("retrieval.rerank") as span:
            span.set_attribute("ragline.rerank.model", reranker.model_id)
            span.set_attribute("ragline.rerank.candidates", len(chunks))
            scores = await reranker.scores(query, [chunk.payload.text for chunk in chunks])
        rescored = [
            ScoredChunk(id=chunk.id, score=score, payload=chunk.payload)
            for chunk, score in zip(chunks, scores, strict=True)
        ]
        return sorted(rescored, key=lambda chunk: chunk.score, reverse=True)

    async def _embed(self, index: _Index, tenant_id: TenantId, text: str) -> tuple[float, ...]:
        embedder = index.embedder
        key = (tenant_id, index.name, embedder.model_id, text)
        with _tracer.start_as_current_span("retrieval.embed") as span:
            span.set_attribute("ragline.embed.model", embedder.model_id)
            cached = self._cache.get(key)
            span.set_attribute("ragline.embed.cache_hit", cached is not None)
            if cached is not None:
                return cached
            try:
                vector = tuple(await embedder.embed_query(text))
            except PermanentProcessingError as exc:
                _log.error(
                    "query_embedding_refused",
                    model=embedder.model_id,
                    code=exc.code,
                    reason=exc.detail,
                )
                raise UpstreamUnavailable(
                    "The embedding model cannot encode queries right now.",
                    code="embedding_unavailable",
                    retry_after_s=EMBEDDER_REFUSED_RETRY_AFTER_S,
                ) from exc
        self._cache.put(key, vector)
        return vector
