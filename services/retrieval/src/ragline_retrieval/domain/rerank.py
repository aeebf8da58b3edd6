"""Rerank port: re-scores the fused candidates of one query, best first.

A cross-encoder reads query and passage together, which ranks better than comparing two
independent embeddings but costs one model pass per candidate; so only the first
``rerank_candidates`` hits are re-scored, and the feature is off unless a model is configured.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class Reranker(Protocol):
    @property
    def model_id(self) -> str: ...

    async def warm_up(self) -> None:
        """Load the model (at start-up, never per query)."""

    async def scores(self, query: str, passages: Sequence[str]) -> list[float]:
        """One relevance score per passage (higher is better), computed off the event loop."""
