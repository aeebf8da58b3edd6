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


@runtime_checkable
class ReleasesMemory(Protocol):
    """An embedder that keeps memory grown by its largest batches, and can hand it back.

    A local model's runtime keeps the working memory of the largest batch it ran for the next
    one (onnxruntime's arena: ~250 MiB for 16 texts of 256 tokens), which a process that has
    finished indexing and only serves queries would hold for good.
    :class:`~ragline_common.adapters.embedder.batching.BatchingEmbedder` calls this when its
    bulk work stops.
    """

    async def release_memory(self) -> None:
        """Return what only large batches need; the next one grows it again."""
