"""Retrieval settings (``RAGLINE_RETRIEVAL_*``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from ragline_common.ports.vector_store import SearchMode


class RetrievalSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="RAGLINE_RETRIEVAL_", env_nested_delimiter="__", extra="ignore", frozen=True
    )

    default_mode: SearchMode = "dense"
    """Mode of queries that name none; the service refuses to start with an unavailable one."""
    query_cache_size: int = Field(default=1024, ge=0, le=1_000_000)
    """Query embeddings kept in memory (LRU); 0 disables the cache."""
