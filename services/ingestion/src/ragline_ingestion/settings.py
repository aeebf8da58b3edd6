"""Ingestion settings (``RAGLINE_INGESTION_*``)."""

from __future__ import annotations

from typing import Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ragline_ingestion.domain.chunking import DEFAULT_MAX_DOCUMENT_CHARS, ChunkingLimits
from ragline_ingestion.domain.parsing.limits import ParseLimits


class IngestionSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="RAGLINE_INGESTION_", env_nested_delimiter="__", extra="ignore", frozen=True
    )

    max_chunk_tokens: int = Field(default=254, ge=16, le=8192)
    """Chunk size in model tokens; 254 plus the [CLS] and [SEP] markers fits MiniLM's 256."""
    chunk_overlap_tokens: int = Field(default=32, ge=0)
    """Whole sentences, up to this many tokens, repeated at the start of the next chunk."""
    max_chunks_per_document: int = Field(default=5000, ge=1)
    """A document that needs more chunks fails: it would crowd everyone else out of the queue."""
    max_document_chars: int = Field(default=DEFAULT_MAX_DOCUMENT_CHARS, ge=10_000)
    """A document with more characters of text after parsing fails before it is chunked:
    chunking runs in the worker, outside the parse sandbox, so its work must be bounded."""
    parse_timeout_s: float = Field(default=120.0, gt=0)
    """Wall-clock time one document may take to parse (then its parser process is killed),
    and, separately, to be cut into chunks (then the job fails)."""
    parse_memory_mb: int = Field(default=1024, ge=128)
    """Address-space cap of a parser process (about 60 MB of it is the loaded libraries)."""
    max_pages: int = Field(default=ParseLimits.max_pages, ge=1)
    """PDFs with more pages fail before any page is read."""
    max_decompressed_bytes: int = Field(default=ParseLimits.max_decompressed_bytes, ge=2**20)
    """What a DOCX may inflate to: the zip-bomb guard."""
    max_line_chars: int = Field(default=100_000, ge=1_000)
    """Longest line a plain-text, Markdown or code document may have (minified data fails)."""
    concurrency: int = Field(default=128, ge=1, le=512)
    """Documents in flight at once (the consumer's prefetch; parsing has its own limit).

    High, because embedding windows are pooled across the documents in flight: most documents
    are a chunk or two, and a window of 128 chunks needs several dozen of them. Messages
    hold their content, so this times the largest upload bounds the worker's queued bytes
    (typical uploads are kilobytes; lower it where many uploads are near the size limit)."""
    parse_concurrency: int = Field(default=2, ge=1, le=64)
    """Documents parsed or chunked at once: CPU-bound work, so about the number of cores
    (each sandboxed parse may also use up to ``parse_memory_mb``)."""
    embed_window: int = Field(default=128, ge=1, le=4096)
    """Chunks of the documents in flight sorted by length together before they are cut into
    encode batches, so a batch pads little (see ``BatchingEmbedder``); at least the batch size."""
    embed_batch_wait_ms: float = Field(default=5.0, ge=0, le=1000)
    """How long a partly filled embedding batch waits for chunks of other documents. Under
    load batches fill while the previous one is encoded; this only delays a lone upload."""
    upsert_batch_size: int = Field(default=128, ge=1, le=4096)
    """Chunks embedded and written per step: bounds memory for a document of any size."""

    @property
    def parse_limits(self) -> ParseLimits:
        return ParseLimits(
            max_pages=self.max_pages,
            max_decompressed_bytes=self.max_decompressed_bytes,
            max_line_chars=self.max_line_chars,
        )

    @property
    def chunking_limits(self) -> ChunkingLimits:
        return ChunkingLimits(
            max_tokens=self.max_chunk_tokens,
            overlap_tokens=self.chunk_overlap_tokens,
            max_chunks=self.max_chunks_per_document,
            max_document_chars=self.max_document_chars,
            max_seconds=self.parse_timeout_s,
        )

    @model_validator(mode="after")
    def _overlap_below_chunk_size(self) -> Self:
        if self.chunk_overlap_tokens >= self.max_chunk_tokens:
            raise ValueError(
                "chunk_overlap_tokens must be smaller than max_chunk_tokens, "
                f"got {self.chunk_overlap_tokens} >= {self.max_chunk_tokens}"
            )
        return self
