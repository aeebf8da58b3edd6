"""Retrieval settings (``RAGLINE_RETRIEVAL_*``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from ragline_common.ports.vector_store import Rrf, SearchMode


class RetrievalSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="RAGLINE_RETRIEVAL_", env_nested_delimiter="__", extra="ignore", frozen=True
    )

    default_mode: SearchMode = "hybrid"
    """Mode of queries that name none: the best measured on SciFact (docs/adr/0010)."""
    query_cache_size: int = Field(default=1024, ge=0, le=1_000_000)
    """Query embeddings kept in memory (LRU); 0 disables the cache."""
    rrf_k: int = Field(default=2, ge=1, le=1000)
    """RRF constant of hybrid search, in Qdrant's convention (the RRF paper's 60 is 61)."""
    rrf_dense_weight: float = Field(default=1.0, gt=0, le=100)
    rrf_sparse_weight: float = Field(default=1.0, gt=0, le=100)
    rerank_model_path: Path | None = None
    """A local cross-encoder model directory; unset (the default) turns reranking off."""
    rerank_candidates: int = Field(default=30, ge=1, le=200)
    """Fused hits re-scored by the cross-encoder per query (when ``top_k`` is larger, top_k)."""

    @property
    def fusion(self) -> Rrf:
        return Rrf(
            k=self.rrf_k,
            dense_weight=self.rrf_dense_weight,
            sparse_weight=self.rrf_sparse_weight,
        )
