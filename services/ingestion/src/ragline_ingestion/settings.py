"""Ingestion settings (``RAGLINE_INGESTION_*``)."""

from __future__ import annotations

from typing import Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


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
    parse_timeout_s: float = Field(default=120.0, gt=0)
    concurrency: int = Field(default=2, ge=1, le=64)
    """Documents processed at once (the consumer's prefetch and the CPU-work limit)."""
    upsert_batch_size: int = Field(default=128, ge=1, le=4096)
    """Chunks embedded and written per step: bounds memory for a document of any size."""

    @model_validator(mode="after")
    def _overlap_below_chunk_size(self) -> Self:
        if self.chunk_overlap_tokens >= self.max_chunk_tokens:
            raise ValueError(
                "chunk_overlap_tokens must be smaller than max_chunk_tokens, "
                f"got {self.chunk_overlap_tokens} >= {self.max_chunk_tokens}"
            )
        return self
