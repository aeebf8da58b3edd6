"""Vector store port: tenant-scoped chunk storage with dense, sparse and hybrid search."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from pydantic import Field, JsonValue

from ragline_common.contracts.chunk import IndexedChunk
from ragline_common.ids import chunk_point_id
from ragline_common.tenancy import TenantId

SearchMode = Literal["dense", "sparse", "hybrid"]


@dataclass(frozen=True)
class SparseVector:
    indices: tuple[int, ...]
    values: tuple[float, ...]


class ChunkPayload(IndexedChunk):
    """What is stored beside each chunk's vectors and returned with every hit: the chunk and
    the tenant that owns it (the field every query of the store filters on)."""

    tenant_id: TenantId
    metadata: dict[str, JsonValue] = Field(default_factory=dict)
    """May be left out when writing (a document without metadata); read back, it is always
    there, which is why the views that leave the store require it."""
    word_sketch: str | None = None
    """The sketch of the text's word set (:func:`~ragline_common.indexing.word_sets.word_sketch`)
    that spares the gateway building the set per search; None on chunks indexed before it."""

    @property
    def chunk_id(self) -> str:
        """The chunk's point id, derived from what it is a chunk of (see ``chunk_point_id``),
        so a view that shows the id reads it from the payload like any other field."""
        return chunk_point_id(self.tenant_id, self.document_id, self.version, self.chunk_index)


@dataclass(frozen=True)
class ChunkPoint:
    id: str
    payload: ChunkPayload
    dense: Sequence[float]
    sparse: SparseVector | None = None


@dataclass(frozen=True)
class ScoredChunk:
    id: str
    score: float
    payload: ChunkPayload


@dataclass(frozen=True)
class MatchValue:
    """``metadata[key] == value``."""

    key: str
    value: str | int | bool


@dataclass(frozen=True)
class MatchAny:
    """``metadata[key]`` is one of ``values``."""

    key: str
    values: tuple[str | int, ...]


@dataclass(frozen=True)
class MatchRange:
    """Numeric range on ``metadata[key]``; unset bounds are open."""

    key: str
    gt: float | None = None
    gte: float | None = None
    lt: float | None = None
    lte: float | None = None


@dataclass(frozen=True)
class MatchDatetimeRange:
    """Date/time range on ``metadata[key]`` (stored as ISO 8601 text); unset bounds are open.

    Bounds are timezone-aware (the caller makes naive ones UTC), so no adapter guesses a zone.
    """

    key: str
    gt: datetime | None = None
    gte: datetime | None = None
    lt: datetime | None = None
    lte: datetime | None = None


MetadataCondition = MatchValue | MatchAny | MatchRange | MatchDatetimeRange


@dataclass(frozen=True)
class Rrf:
    """Reciprocal rank fusion of hybrid search's dense and sparse candidate lists.

    Qdrant's formula: a hit's fused score is ``sum(1 / (rank / weight + k - 1))`` over the lists
    that found it, ranks counted from 1 (with equal weights, the paper's ``1 / (k + rank)`` with
    ranks from 0: its 60 is ``k=61`` here). A larger ``k`` flattens the gap between the first
    ranks; a weight above 1 makes that list's ranks count as if they were better. Fused scores
    are only comparable within one query.
    """

    k: int = 2
    """Qdrant's default, and the best measured on SciFact (docs/adr/0010)."""
    dense_weight: float = 1.0
    sparse_weight: float = 1.0

    def __post_init__(self) -> None:
        if self.k < 1:
            raise ValueError(f"RRF k must be at least 1, got {self.k}")
        if self.dense_weight <= 0 or self.sparse_weight <= 0:
            raise ValueError("RRF weights must be positive")

    @property
    def weighted(self) -> bool:
        return self.dense_weight != self.sparse_weight


DEFAULT_RRF = Rrf()


class VectorStore(Protocol):
    async def open(self) -> None:
        """Create the collection and payload indexes if missing (idempotent)."""

    async def close(self) -> None: ...

    async def drop(self) -> None:
        """Delete the whole collection (or shard) of this embedding model, then close.

        For retiring a model's index after a reindex moved reads elsewhere. Idempotent: an
        index already gone is no error. A later :meth:`open` creates the index anew, empty.
        """

    def bulk_load(self) -> AbstractAsyncContextManager[None]:
        """Many writes to come, indexed once at the end of the last overlapping load.

        Searches stay right throughout (unindexed points are scored exactly); a reindex's
        writes use it (``ragline_ingestion.domain.bulk_loads``).
        """
        ...

    async def ping(self) -> None:
        """Raise ``UpstreamUnavailable`` when the store cannot serve."""

    async def upsert(self, tenant_id: TenantId, points: Sequence[ChunkPoint]) -> None:
        """Write points; every payload must belong to ``tenant_id`` (else ``ValueError``)."""

    async def delete_document(
        self, tenant_id: TenantId, document_id: str, *, keep_version: int | None = None
    ) -> None:
        """Delete the document's chunks: every version, or only those older than ``keep_version``.

        Versions newer than ``keep_version`` stay: one may have been written while the prune
        was on its way (two uploads indexing at once), and deleting it would leave the catalog
        pointing at chunks that are gone, with nothing to heal it.
        """

    async def delete_tenant(self, tenant_id: TenantId) -> None: ...

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
        """Best chunks of ``tenant_id`` only, best first; hybrid fuses dense and sparse with
        ``fusion`` (Qdrant's query API: one prefetch per side, then RRF), inside the store."""

    async def list_chunks(
        self,
        tenant_id: TenantId,
        document_id: str,
        *,
        limit: int,
        offset: int,
        version: int | None = None,
    ) -> list[ChunkPayload]:
        """The document's chunks ordered by (version, chunk_index), optionally one version's."""

    async def count(self, tenant_id: TenantId, document_id: str | None = None) -> int: ...

    async def newest_version(self, tenant_id: TenantId, document_id: str) -> int | None:
        """The highest version of the document that has chunks stored; None if none has.

        Read from the version index (how many points each version has), never by loading the
        document's chunks, so it costs the same for a long document as for a short one.
        """
