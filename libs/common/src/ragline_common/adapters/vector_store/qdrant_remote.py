"""VectorStore on a Qdrant server (microservices mode), through ``AsyncQdrantClient``.

One collection per embedding model, shared by all tenants: Qdrant advises against a collection
per tenant, and an ``is_tenant`` keyword index keeps each tenant's points together instead. The
HNSW graph is built per tenant only (``m=0``, ``payload_m=16``), because no query here ever
searches across tenants.

The same class runs qdrant-client's local mode (``location=":memory:"`` or a ``path``), which
speaks the server API in-process; the contract tests use it so they need no server.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import anyio
import httpx
from qdrant_client import AsyncQdrantClient, models
from qdrant_client.common.client_exceptions import ResourceExhaustedResponse
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from ragline_common.adapters.vector_store.outage import (
    FAILING,
    NOT_OPEN,
    THROTTLED,
    store_unavailable,
)
from ragline_common.adapters.vector_store.qdrant_filters import tenant_scope
from ragline_common.adapters.vector_store.schema import (
    DENSE,
    DOCUMENT_FIELD,
    LIST_PAGE,
    ORDER_FIELDS,
    SPARSE,
    TENANT_FIELD,
    VERSION_FIELD,
    canonical_point_id,
    check_page,
    check_points,
    check_query,
    collection_name,
    missing_vector_message,
    newest_of,
    only_version,
    page_order,
    payload_from_store,
    payload_to_store,
    prefetch_limit,
    scored_from_store,
    select_page,
)
from ragline_common.errors import UpstreamUnavailable
from ragline_common.ports.vector_store import (
    DEFAULT_RRF,
    ChunkPayload,
    ChunkPoint,
    MetadataCondition,
    Rrf,
    ScoredChunk,
    SearchMode,
    SparseVector,
)
from ragline_common.tenancy import TenantId

_INDEXES: dict[str, models.KeywordIndexParams | models.IntegerIndexParams] = {
    TENANT_FIELD: models.KeywordIndexParams(type=models.KeywordIndexType.KEYWORD, is_tenant=True),
    # Per-document and per-version HNSW subgraphs would only cost memory: lookups suffice.
    DOCUMENT_FIELD: models.KeywordIndexParams(
        type=models.KeywordIndexType.KEYWORD, enable_hnsw=False
    ),
    VERSION_FIELD: models.IntegerIndexParams(
        type=models.IntegerIndexType.INTEGER, lookup=True, range=False, enable_hnsw=False
    ),
}


DEFAULT_INDEXING_THRESHOLD_KB = 10_000
"""Put back after a bulk load only when the collection's own value (read as each load starts)
was not known: KB of vectors a segment holds before it gets HNSW, Qdrant's usual default."""


class QdrantRemoteVectorStore:
    """Tenant-scoped chunk storage in the collection of one embedding model.

    Give exactly one of ``url`` (a server), ``location=":memory:"`` or ``path`` (local mode).
    """

    def __init__(
        self,
        *,
        model_id: str,
        dimension: int,
        collection_prefix: str = "ragline",
        url: str | None = None,
        api_key: str | None = None,
        timeout_s: float = 10.0,
        location: str | None = None,
        path: Path | None = None,
    ) -> None:
        if sum(target is not None for target in (url, location, path)) != 1:
            raise ValueError("give exactly one of url, location or path")
        self.collection = collection_name(collection_prefix, model_id, dimension)
        self._dimension = dimension
        self._url = url
        self._api_key = api_key
        self._timeout_s = timeout_s
        self._location = location
        self._path = path
        self._client: AsyncQdrantClient | None = None
        self._bulk_loads = 0
        self._indexing_threshold: int | None = None

    async def open(self) -> None:
        client = self._connect()
        with _upstream_errors():
            if not await client.collection_exists(self.collection):
                await self._create_collection(client)
            for field, schema in _INDEXES.items():
                # Idempotent on the server; a no-op (with a warning) in local mode.
                await client.create_payload_index(self.collection, field, schema, wait=True)

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.close()

    async def drop(self) -> None:
        client = self._connect()
        try:
            with _upstream_errors():
                if await client.collection_exists(self.collection):
                    await client.delete_collection(self.collection)
        finally:
            await self.close()

    async def ping(self) -> None:
        client = self._require_client()
        try:
            with _upstream_errors():
                await client.get_collection(self.collection)
        except UpstreamUnavailable:
            raise
        except Exception as exc:
            # A missing collection or a refused request: either way the store cannot serve.
            raise store_unavailable(FAILING, exc) from exc

    @asynccontextmanager
    async def bulk_load(self) -> AsyncIterator[None]:
        """Many writes, indexed once at the end (the last of overlapping bulk loads).

        Qdrant's advice for bulk uploads: at ``indexing_threshold`` 0 the server builds (and
        rebuilds, as segments merge) no HNSW graph; unindexed points are scored exactly, so
        searches stay correct. The collection's threshold is put back when the last bulk load
        of this process ends. A process killed inside one leaves the collection unindexed
        (correct, slower) until a later bulk load ends.
        """
        client = self._require_client()
        self._bulk_loads += 1
        try:
            if self._bulk_loads == 1:
                with _upstream_errors():
                    info = await client.get_collection(self.collection)
                    threshold = info.config.optimizer_config.indexing_threshold
                    if threshold:  # not a bulk load's 0 left behind by a killed process
                        self._indexing_threshold = threshold
                    await client.update_collection(
                        self.collection,
                        optimizers_config=models.OptimizersConfigDiff(indexing_threshold=0),
                    )
            yield
        finally:
            self._bulk_loads -= 1
            if self._bulk_loads == 0:
                restored = self._indexing_threshold or DEFAULT_INDEXING_THRESHOLD_KB
                with anyio.CancelScope(shield=True), _upstream_errors():
                    await client.update_collection(
                        self.collection,
                        optimizers_config=models.OptimizersConfigDiff(indexing_threshold=restored),
                    )

    async def upsert(self, tenant_id: TenantId, points: Sequence[ChunkPoint]) -> None:
        check_points(tenant_id, points, self._dimension)
        if not points:
            return
        structs = [_point(point) for point in points]
        client = self._require_client()
        with _upstream_errors():
            await client.upsert(self.collection, structs, wait=True)

    async def delete_document(
        self, tenant_id: TenantId, document_id: str, *, keep_version: int | None = None
    ) -> None:
        scope = tenant_scope(tenant_id, document_id=document_id, older_than=keep_version)
        await self._delete(scope)

    async def delete_tenant(self, tenant_id: TenantId) -> None:
        await self._delete(tenant_scope(tenant_id))

    async def search(
        self,
        tenant_id: TenantId,
        *,
        mode: SearchMode,
        dense: Sequence[float] | None,
        sparse: SparseVector | None,
        limit: int,
        conditions: Sequence[MetadataCondition] = (),
        fusion: Rrf = DEFAULT_RRF,
    ) -> list[ScoredChunk]:
        check_query(limit, dense, sparse, self._dimension)
        scope = tenant_scope(tenant_id, conditions=conditions)
        idf = _idf_of(tenant_id)
        client = self._require_client()
        with _upstream_errors():
            match mode:
                case "dense" if dense is not None:
                    response = await client.query_points(
                        self.collection,
                        query=_dense(dense),
                        using=DENSE,
                        query_filter=scope,
                        limit=limit,
                        with_payload=True,
                    )
                case "sparse" if sparse is not None:
                    response = await client.query_points(
                        self.collection,
                        query=_sparse(sparse),
                        using=SPARSE,
                        query_filter=scope,
                        search_params=idf,
                        limit=limit,
                        with_payload=True,
                    )
                case "hybrid" if dense is not None and sparse is not None:
                    candidates = prefetch_limit(limit)
                    response = await client.query_points(
                        self.collection,
                        prefetch=[
                            models.Prefetch(
                                query=_dense(dense), using=DENSE, limit=candidates, filter=scope
                            ),
                            models.Prefetch(
                                query=_sparse(sparse),
                                using=SPARSE,
                                limit=candidates,
                                filter=scope,
                                params=idf,
                            ),
                        ],
                        query=_rrf(fusion),
                        query_filter=scope,
                        limit=limit,
                        with_payload=True,
                    )
                case _:
                    raise ValueError(missing_vector_message(mode))
        return scored_from_store(response.points)

    async def list_chunks(
        self,
        tenant_id: TenantId,
        document_id: str,
        *,
        limit: int,
        offset: int,
        version: int | None = None,
    ) -> list[ChunkPayload]:
        check_page(limit, offset)
        client = self._require_client()
        keys: list[tuple[int, int, str]] = []
        cursor: models.ExtendedPointId | None = None
        with _upstream_errors():
            while True:
                records, cursor = await client.scroll(
                    self.collection,
                    scroll_filter=tenant_scope(tenant_id, document_id=document_id),
                    limit=LIST_PAGE,
                    offset=cursor,
                    with_payload=[*ORDER_FIELDS],
                )
                keys.extend(page_order(record.payload, str(record.id)) for record in records)
                if cursor is None:
                    break
            ids = select_page(only_version(keys, version), limit, offset)
            if not ids:
                return []
            records, _ = await client.scroll(
                self.collection,
                scroll_filter=tenant_scope(tenant_id, document_id=document_id, point_ids=ids),
                limit=len(ids),
                with_payload=True,
            )
        stored = {str(record.id): record.payload for record in records}
        return [payload_from_store(stored[i]) for i in ids if i in stored]

    async def count(self, tenant_id: TenantId, document_id: str | None = None) -> int:
        client = self._require_client()
        with _upstream_errors():
            result = await client.count(
                self.collection,
                count_filter=tenant_scope(tenant_id, document_id=document_id),
                exact=True,
            )
        return result.count

    async def newest_version(self, tenant_id: TenantId, document_id: str) -> int | None:
        scope = tenant_scope(tenant_id, document_id=document_id)
        client = self._require_client()
        newest: int | None = None
        cursor: models.ExtendedPointId | None = None
        with _upstream_errors():
            # A new document (most of them) costs one count; see ``newest_of`` for the rest.
            if (await client.count(self.collection, count_filter=scope, exact=True)).count == 0:
                return None
            while True:
                records, cursor = await client.scroll(
                    self.collection,
                    scroll_filter=scope,
                    limit=LIST_PAGE,
                    offset=cursor,
                    with_payload=[VERSION_FIELD],
                    with_vectors=False,
                )
                newest = newest_of((record.payload for record in records), newest)
                if cursor is None:
                    return newest

    def _connect(self) -> AsyncQdrantClient:
        if self._client is None:
            self._client = AsyncQdrantClient(
                url=self._url,
                api_key=self._api_key,
                timeout=math.ceil(self._timeout_s),
                location=self._location,
                path=str(self._path) if self._path is not None else None,
                # The check is a blocking request on a background thread that only warns;
                # readiness is decided by ping().
                check_compatibility=False,
            )
        return self._client

    def _require_client(self) -> AsyncQdrantClient:
        if self._client is None:
            raise store_unavailable(NOT_OPEN)
        return self._client

    async def _create_collection(self, client: AsyncQdrantClient) -> None:
        try:
            await client.create_collection(
                self.collection,
                vectors_config={
                    DENSE: models.VectorParams(
                        size=self._dimension, distance=models.Distance.COSINE
                    )
                },
                sparse_vectors_config={
                    SPARSE: models.SparseVectorParams(modifier=models.Modifier.IDF)
                },
                hnsw_config=models.HnswConfigDiff(m=0, payload_m=16),
            )
        except UnexpectedResponse as exc:
            if exc.status_code != httpx.codes.CONFLICT:
                raise
            # Another replica created it between our check and our create: same result.

    async def _delete(self, scope: models.Filter) -> None:
        client = self._require_client()
        with _upstream_errors():
            await client.delete(
                self.collection, points_selector=models.FilterSelector(filter=scope), wait=True
            )


@contextmanager
def _upstream_errors() -> Iterator[None]:
    """Turn outages into ``UpstreamUnavailable`` (503, retried); let request bugs (4xx) through."""
    try:
        yield
    except ResourceExhaustedResponse as exc:
        raise store_unavailable(THROTTLED, exc, retry_after_s=float(exc.retry_after_s)) from exc
    except UnexpectedResponse as exc:
        if exc.status_code is not None and exc.status_code < httpx.codes.INTERNAL_SERVER_ERROR:
            raise
        raise store_unavailable(FAILING, exc) from exc
    except (ResponseHandlingException, httpx.TransportError, OSError) as exc:
        raise store_unavailable(FAILING, exc) from exc


def _point(point: ChunkPoint) -> models.PointStruct:
    vectors: dict[str, models.Vector] = {DENSE: _dense(point.dense)}
    if point.sparse is not None:
        vectors[SPARSE] = _sparse(point.sparse)
    return models.PointStruct(
        id=canonical_point_id(point.id), vector=vectors, payload=payload_to_store(point.payload)
    )


def _rrf(fusion: Rrf) -> models.RrfQuery:
    # Weights go only when they differ, so plain RRF also works on servers without weights.
    weights = [fusion.dense_weight, fusion.sparse_weight] if fusion.weighted else None
    return models.RrfQuery(rrf=models.Rrf(k=fusion.k, weights=weights))


def _idf_of(tenant_id: TenantId) -> models.SearchParams:
    """Sparse term weights (IDF) counted over the tenant's chunks, as in the Edge adapter."""
    return models.SearchParams(idf=models.IdfCorpusParams(corpus=tenant_scope(tenant_id)))


def _dense(vector: Sequence[float]) -> list[float]:
    return [float(x) for x in vector]


def _sparse(vector: SparseVector) -> models.SparseVector:
    return models.SparseVector(
        indices=list(vector.indices), values=[float(x) for x in vector.values]
    )
