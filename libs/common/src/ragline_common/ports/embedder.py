"""Embedding port."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


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
