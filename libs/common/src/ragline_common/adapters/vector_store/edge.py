"""VectorStore on Qdrant Edge: Qdrant's engine in-process, one shard on local disk.

Used in monolithic mode, where Ragline must run with nothing but Python. The engine is
synchronous, so every call runs in a worker thread behind a capacity limit. Measured with
qdrant-edge-py 0.9: the bindings hold the GIL for most of a call, so threads bound the damage
rather than remove it; a query costs well under a millisecond, but ``optimize`` can hold the
interpreter for seconds and therefore runs only in :meth:`EdgeVectorStore.open`, before serving.

Durability: the write-ahead log is on, so an update survives a process crash as soon as
``update`` returns (tested by killing a writer). ``flush`` persists segments so a restart has
less WAL to replay; it costs ~200 ms with the GIL held on a VM disk, so it runs at most every
``FLUSH_INTERVAL_S`` of writing (like the server's periodic flush) and on close.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar

import anyio
import anyio.to_thread
import qdrant_edge as edge

from ragline_common.adapters.vector_store.edge_filters import tenant_scope
from ragline_common.adapters.vector_store.outage import (
    CANNOT_OPEN,
    FAILING,
    NOT_OPEN,
    store_unavailable,
)
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

T = TypeVar("T")

FLUSH_INTERVAL_S = 5.0

_INDEXES: dict[str, edge.KeywordIndexParams | edge.IntegerIndexParams] = {
    # is_tenant co-locates each tenant's points, the shape of every query we send.
    TENANT_FIELD: edge.KeywordIndexParams(is_tenant=True),
    # Per-document and per-version HNSW subgraphs would only cost memory: lookups suffice.
    DOCUMENT_FIELD: edge.KeywordIndexParams(enable_hnsw=False),
    VERSION_FIELD: edge.IntegerIndexParams(lookup=True, range=False, enable_hnsw=False),
}

_HNSW = edge.HnswIndexConfig(m=0, ef_construct=100, full_scan_threshold=10_000, payload_m=16)
"""HNSW graphs per tenant only, as on the server (see :mod:`.qdrant_remote`): no query crosses
tenants, so a global graph would only cost build time. A tenant whose vectors fit under
``full_scan_threshold`` (KB; ~6,500 vectors of 384 floats) gets no graph at all: the engine
scores all of its points exactly. Qdrant's own defaults otherwise."""


class EdgeVectorStore:
    """Tenant-scoped chunk storage in one embedded Qdrant Edge shard at ``path``.

    Only one process may open a path (the engine locks its WAL); a second one fails in
    :meth:`open` with :class:`UpstreamUnavailable`.
    """

    def __init__(self, path: Path, *, dimension: int, max_concurrency: int = 8) -> None:
        self._path = path
        self._dimension = dimension
        self._max_concurrency = max_concurrency
        self._limiter = anyio.CapacityLimiter(max_concurrency)
        # Writes are serialised so the flush schedule has one owner and close() can wait for
        # the last write.
        self._write_lock = anyio.Lock()
        self._shard: edge.EdgeShard | None = None
        self._flushed_at = time.monotonic()
        self._bulk_loads = 0

    async def open(self) -> None:
        async with self._write_lock:
            if self._shard is None:
                self._shard = await anyio.to_thread.run_sync(self._open_shard)

    async def close(self) -> None:
        async with self._write_lock:
            shard, self._shard = self._shard, None
            if shard is None:
                return
            # Taking every token waits for in-flight reads, so the shard is never closed under
            # a running query; new calls already see the store as closed.
            borrowers = [object() for _ in range(self._max_concurrency)]
            for borrower in borrowers:
                await self._limiter.acquire_on_behalf_of(borrower)
            try:
                await anyio.to_thread.run_sync(_flush_and_close, shard)
            finally:
                for borrower in borrowers:
                    self._limiter.release_on_behalf_of(borrower)

    async def drop(self) -> None:
        # Closed first: the engine holds the shard's files (and its WAL lock) while open.
        await self.close()
        async with self._write_lock:
            await anyio.to_thread.run_sync(_remove_shard, self._path)

    async def ping(self) -> None:
        await self._run(lambda shard: shard.info())

    @asynccontextmanager
    async def bulk_load(self) -> AsyncIterator[None]:
        """Many writes, indexed once at the end (the last of overlapping bulk loads).

        The engine builds HNSW graphs only when its optimizer runs, which this adapter does
        in :meth:`open`: points written meanwhile sit in plain segments, which every search
        scores exactly, so results are correct throughout. After a bulk load that is many
        points, so its end runs the optimizer once (holding the interpreter for a while, as
        at open) rather than leaving them unindexed until the next start.
        """
        self._bulk_loads += 1
        try:
            yield
        finally:
            self._bulk_loads -= 1
            if self._bulk_loads == 0 and self._shard is not None:
                # Shielded: a cancelled loader must not leave the lock or the thread behind.
                with anyio.CancelScope(shield=True):
                    async with self._write_lock:
                        await self._run(lambda shard: shard.optimize())

    async def upsert(self, tenant_id: TenantId, points: Sequence[ChunkPoint]) -> None:
        check_points(tenant_id, points, self._dimension)
        if points:
            await self._write(edge.UpdateOperation.upsert_points([_point(p) for p in points]))

    async def delete_document(
        self, tenant_id: TenantId, document_id: str, *, keep_version: int | None = None
    ) -> None:
        scope = tenant_scope(tenant_id, document_id=document_id, older_than=keep_version)
        await self._write(edge.UpdateOperation.delete_points_by_filter(scope))

    async def delete_tenant(self, tenant_id: TenantId) -> None:
        await self._write(edge.UpdateOperation.delete_points_by_filter(tenant_scope(tenant_id)))

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
        request = _query_request(mode, dense, sparse, limit, scope, fusion, _idf_of(tenant_id))
        return scored_from_store(await self._run(lambda shard: shard.query(request)))

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

        def read(shard: edge.EdgeShard) -> list[ChunkPayload]:
            keys: list[tuple[int, int, str]] = []
            scope = tenant_scope(tenant_id, document_id=document_id)
            cursor: edge.PointId | None = None
            while True:
                records, cursor = shard.scroll(
                    edge.ScrollRequest(
                        offset=cursor, limit=LIST_PAGE, filter=scope, with_payload=[*ORDER_FIELDS]
                    )
                )
                keys.extend(page_order(record.payload, str(record.id)) for record in records)
                if cursor is None:
                    break
            ids = select_page(only_version(keys, version), limit, offset)
            if not ids:
                return []
            records, _ = shard.scroll(
                edge.ScrollRequest(
                    limit=len(ids),
                    filter=tenant_scope(tenant_id, document_id=document_id, point_ids=ids),
                    with_payload=True,
                )
            )
            stored = {str(record.id): record.payload for record in records}
            return [payload_from_store(stored[i]) for i in ids if i in stored]

        return await self._run(read)

    async def count(self, tenant_id: TenantId, document_id: str | None = None) -> int:
        request = edge.CountRequest(
            exact=True, filter=tenant_scope(tenant_id, document_id=document_id)
        )
        return await self._run(lambda shard: shard.count(request))

    async def newest_version(self, tenant_id: TenantId, document_id: str) -> int | None:
        scope = tenant_scope(tenant_id, document_id=document_id)

        def read(shard: edge.EdgeShard) -> int | None:
            # A new document (most of them) costs one count; see ``newest_of`` for the rest.
            if shard.count(edge.CountRequest(exact=True, filter=scope)) == 0:
                return None
            newest: int | None = None
            cursor: edge.PointId | None = None
            while True:
                records, cursor = shard.scroll(
                    edge.ScrollRequest(
                        offset=cursor,
                        limit=LIST_PAGE,
                        filter=scope,
                        with_payload=[VERSION_FIELD],
                        with_vector=False,
                    )
                )
                newest = newest_of((record.payload for record in records), newest)
                if cursor is None:
                    return newest

        return await self._run(read)

    def _open_shard(self) -> edge.EdgeShard:
        """Load the shard if the path holds one, else create it; then ensure the indexes."""
        config = edge.EdgeConfig(
            vectors={
                DENSE: edge.EdgeVectorParams(size=self._dimension, distance=edge.Distance.Cosine)
            },
            sparse_vectors={SPARSE: edge.EdgeSparseVectorParams(modifier=edge.Modifier.Idf)},
            hnsw_config=_HNSW,
            wal_enabled=True,
        )
        path = str(self._path)
        try:
            if self._path.is_dir() and any(self._path.iterdir()):
                # Passing the config makes the engine refuse a shard built for another dimension.
                shard = edge.EdgeShard.load(path, config)
            else:
                shard = edge.EdgeShard.create(path, config)
        except Exception as exc:
            raise store_unavailable(CANNOT_OPEN, exc) from exc
        existing = shard.info().payload_schema
        for field, schema in _INDEXES.items():
            if field not in existing:
                shard.update(edge.UpdateOperation.create_field_index(field, schema))
        # Builds HNSW and drops deleted points; the engine never optimises in the background.
        shard.optimize()
        return shard

    async def _write(self, operation: edge.UpdateOperation) -> None:
        def apply(shard: edge.EdgeShard) -> None:
            shard.update(operation)
            if time.monotonic() - self._flushed_at >= FLUSH_INTERVAL_S:
                shard.flush()
                self._flushed_at = time.monotonic()

        async with self._write_lock:
            await self._run(apply)

    async def _run(self, call: Callable[[edge.EdgeShard], T]) -> T:
        shard = self._shard
        if shard is None:
            raise store_unavailable(NOT_OPEN)
        try:
            return await anyio.to_thread.run_sync(call, shard, limiter=self._limiter)
        except (ValueError, TypeError):
            raise  # a malformed request is a bug on our side, not an outage
        except Exception as exc:
            # The bindings raise a bare Exception for engine failures (I/O, a closed shard).
            raise store_unavailable(FAILING, exc) from exc


def _remove_shard(path: Path) -> None:
    """Delete a shard's directory; one already gone is what dropping wanted anyway."""
    if path.exists():
        shutil.rmtree(path)


def _flush_and_close(shard: edge.EdgeShard) -> None:
    try:
        shard.flush()
    finally:
        shard.close()


def _point(point: ChunkPoint) -> edge.Point:
    vectors: dict[str, edge.NamedVector] = {DENSE: [float(x) for x in point.dense]}
    if point.sparse is not None:
        vectors[SPARSE] = _sparse(point.sparse)
    return edge.Point(canonical_point_id(point.id), vectors, payload_to_store(point.payload))


def _sparse(vector: SparseVector) -> edge.SparseVector:
    return edge.SparseVector(list(vector.indices), [float(x) for x in vector.values])


def _query_request(
    mode: SearchMode,
    dense: Sequence[float] | None,
    sparse: SparseVector | None,
    limit: int,
    scope: edge.Filter,
    fusion: Rrf,
    idf: edge.SearchParams,
) -> edge.QueryRequest:
    """The engine request of one search; a mode without its query vector is refused."""
    match mode:
        case "dense" if dense is not None:
            return edge.QueryRequest(
                limit=limit, query=_dense_query(dense), filter=scope, with_payload=True
            )
        case "sparse" if sparse is not None:
            return edge.QueryRequest(
                limit=limit,
                query=_sparse_query(sparse),
                filter=scope,
                params=idf,
                with_payload=True,
            )
        case "hybrid" if dense is not None and sparse is not None:
            candidates = prefetch_limit(limit)
            return edge.QueryRequest(
                limit=limit,
                prefetches=[
                    edge.Prefetch(candidates, query=_dense_query(dense), filter=scope),
                    edge.Prefetch(
                        candidates, query=_sparse_query(sparse), filter=scope, params=idf
                    ),
                ],
                # The stubs type `query` as Fusion, yet the engine takes its nested Rrf class.
                query=edge.Fusion.Rrf(  # type: ignore[arg-type]
                    k=fusion.k,
                    weights=[fusion.dense_weight, fusion.sparse_weight]
                    if fusion.weighted
                    else None,
                ),
                filter=scope,
                with_payload=True,
            )
        case _:
            raise ValueError(missing_vector_message(mode))


def _idf_of(tenant_id: TenantId) -> edge.SearchParams:
    """Sparse scoring with term weights (IDF) counted over ``tenant_id``'s chunks only.

    The engine's default corpus is the whole shard, every tenant's chunks: a tenant's scores
    would then move with other tenants' writing, and tell it whether a rare word occurs in
    their documents. The corpus is the tenant, not the query's metadata conditions, so a
    filter narrows the hits without re-weighting the terms.
    """
    return edge.SearchParams(idf=edge.IdfParams(corpus=tenant_scope(tenant_id)))


def _dense_query(dense: Sequence[float]) -> edge.Query:
    return edge.Query.Nearest([float(x) for x in dense], using=DENSE)


def _sparse_query(sparse: SparseVector) -> edge.Query:
    return edge.Query.Nearest(_sparse(sparse), using=SPARSE)
