"""Search contract: gateway -> retrieval."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Protocol

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from ragline_common.contracts.chunk import DocumentChunk, IndexedChunk
from ragline_common.contracts.metadata import MAX_NUMBER, MIN_NUMBER
from ragline_common.ports.vector_store import SearchMode
from ragline_common.tenancy import TenantId

MAX_QUERY_CHARS = 2000
MAX_TOP_K = 100

FilterInt = Annotated[int, Field(ge=MIN_NUMBER, le=MAX_NUMBER)]
"""An integer the stores can match: 64-bit, as metadata numbers are (a larger one reads as a float,
which matches by range)."""
FilterValue = str | FilterInt | float | bool
"""A metadata filter: equality for a scalar, any-of for a list, a range for {gte, lte, gt, lt}."""


class RangeFilter(BaseModel):
    """Bounds are all numbers or all dates/times (ISO 8601, e.g. ``2024-05-01``; UTC if no zone)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    gt: float | datetime | None = None
    gte: float | datetime | None = None
    lt: float | datetime | None = None
    lte: float | datetime | None = None


Filters = dict[str, FilterValue | list[str | FilterInt] | RangeFilter]
"""A query's metadata filters, by metadata key; every request model that takes filters uses this."""


class SearchQuery(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    query: str = Field(min_length=1, max_length=MAX_QUERY_CHARS)
    top_k: int = Field(default=10, ge=1, le=MAX_TOP_K)
    mode: SearchMode | None = None
    filters: Filters = Field(default_factory=dict)
    min_score: float | None = None


class SearchHit(DocumentChunk):
    """A chunk a search found: the chunk, its point id and the score that ranked it (scores
    compare only within one result)."""

    chunk_id: str
    score: float
    word_sketch: SkipJsonSchema[str | None] = Field(default=None, exclude=True, repr=False)
    """The stored sketch of the text's word set (``ChunkPayload.word_sketch``), for the gateway's
    near-duplicate check in the same process. Never serialised: not part of any answer, and a
    hit that crossed a process boundary has none (the gateway then reads the text)."""


class SearchResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    results: list[SearchHit]
    mode: SearchMode
    index_model: str | None = None
    """The model spec whose index answered (issue 15: one model per search, visible while a
    reindex switches reads); None only from a retrieval service older than reindexing."""


class StoredChunk(IndexedChunk):
    """One chunk as stored, for listing a document's chunks."""

    chunk_id: str


MAX_CHUNK_PAGE = 200


class ChunkPageRequest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    document_id: str = Field(min_length=1, max_length=200)
    version: int = Field(ge=1)
    limit: int = Field(ge=1, le=MAX_CHUNK_PAGE)
    offset: int = Field(ge=0, le=1_000_000)


class ChunkPage(BaseModel):
    model_config = ConfigDict(frozen=True)

    chunks: list[StoredChunk]


class SearchApi(Protocol):
    """What the gateway needs of retrieval; in-process or over HTTP.

    ``index_model`` names the model index to read (a spec, ``KIND`` or ``KIND:MODEL``); None
    reads retrieval's configured default. The gateway names the active one, so every request
    reads exactly one model while a reindex switches. A spec that does not parse is a 422
    ``unknown_index_model``.
    """

    async def search(
        self, tenant_id: TenantId, query: SearchQuery, *, index_model: str | None = None
    ) -> SearchResult: ...

    async def list_chunks(
        self, tenant_id: TenantId, request: ChunkPageRequest, *, index_model: str | None = None
    ) -> ChunkPage:
        """One version's chunks of one document, in chunk order."""


class InternalChunkPageRequest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    tenant_id: TenantId
    page: ChunkPageRequest
    index_model: str | None = None


class InternalSearchRequest(BaseModel):
    """Wire form of a search between services: the gateway supplies the tenant."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tenant_id: TenantId
    query: SearchQuery
    index_model: str | None = None
    """The index to read (see :class:`SearchApi`); None is retrieval's default."""
