"""Embedding port."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class EmbeddingsWithUsage:
    """Vectors of one call and the prompt tokens they cost, for the caller to bill a tenant."""

    vectors: list[list[float]]
    prompt_tokens: int
    estimated: bool
    """True when some of ``prompt_tokens`` is a local estimate, not the model's own count
    (a remote provider that reported none, or a share of a batch split by estimate)."""


class Embedder(Protocol):
    """Turns text into unit-length dense vectors (cosine similarity = dot product).

    Implementations load their model in ``warm_up`` (never at import or per call) and run
    encoding off the event loop.
    """

    @property
    def model_id(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    async def warm_up(self) -> None: ...

    async def embed_documents(self, texts: Sequence[str]) -> list[list[float]]: ...

    async def embed_query(self, text: str) -> list[float]: ...

    def count_tokens(self, text: str) -> int:
        """Tokens the model sees for ``text`` (chunk sizes are measured in these)."""


@runtime_checkable
class ReportsUsage(Protocol):
    """An embedder that can say what a call cost: remote providers bill by prompt tokens.

    Separate from :class:`Embedder` so that local models need not repeat a count their
    callers already hold (chunk sizes are measured with ``count_tokens``);
    :class:`~ragline_common.adapters.embedder.batching.BatchingEmbedder` reports usage for any
    embedder it wraps. One method only, so ``isinstance`` never evaluates ``dimension`` (which
    a remote embedder cannot answer before its warm-up).
    """

    async def embed_documents_with_usage(self, texts: Sequence[str]) -> EmbeddingsWithUsage:
        """Vectors for ``texts`` in order, with the prompt tokens the call cost."""
