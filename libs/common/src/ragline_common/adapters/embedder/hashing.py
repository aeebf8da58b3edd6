"""A deterministic feature-hashing embedder, for tests and for trying Ragline without a model.

Each word lands in one of ``dimension`` buckets with a sign, both taken from a stable hash
(blake2b, not ``hash()``, which is salted per process), and the vector is L2-normalised. Texts
that share words therefore have a higher cosine than texts that do not: crude, but enough for
search tests to be meaningful, and it needs no model, no thread and no time.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence

_TOKEN = re.compile(r"\w+|[^\w\s]")
_WORD = re.compile(r"\w+")


def _bucket(token: str, dimension: int) -> tuple[int, float]:
    digest = int.from_bytes(hashlib.blake2b(token.encode(), digest_size=8).digest(), "big")
    sign = 1.0 if digest & 1 else -1.0
    return (digest >> 1) % dimension, sign


class HashEmbedder:
    def __init__(self, dimension: int = 384) -> None:
        if dimension < 1:
            raise ValueError("dimension must be positive")
        self._dimension = dimension

    @property
    def model_id(self) -> str:
        return f"hash-{self._dimension}"

    @property
    def dimension(self) -> int:
        return self._dimension

    async def warm_up(self) -> None:
        """Nothing to load."""

    async def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        return [self._embed(text) for text in texts]

    async def embed_query(self, text: str) -> list[float]:
        return self._embed(text)

    def count_tokens(self, text: str) -> int:
        """Words and punctuation marks, roughly what a word-piece tokenizer yields for English."""
        return len(_TOKEN.findall(text))

    def _embed(self, text: str) -> list[float]:
        vector = [0.0] * self._dimension
        # A text without words still gets a unit vector (the port promises unit length).
        words = [word.lower() for word in _WORD.findall(text)] or [""]
        for word in words:
            index, sign = _bucket(word, self._dimension)
            vector[index] += sign
        norm = math.sqrt(sum(value * value for value in vector))
        if norm == 0.0:
            # Every word cancelled out (equal counts with opposite signs in one bucket).
            index, sign = _bucket("", self._dimension)
            vector[index] = sign
            return vector
        return [value / norm for value in vector]
