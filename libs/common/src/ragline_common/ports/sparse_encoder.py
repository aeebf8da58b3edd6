"""Sparse (lexical) encoding port: text -> term weights for the store's ``sparse`` vector.

Documents and queries are encoded differently (BM25 puts the term-frequency saturation and
length normalisation on the document side, the IDF in the store), so the port has one method
for each. Both sides of one deployment must use the same encoder, because term ids are only
comparable within one tokenizer; ``model_id`` names it so a mismatch can be detected.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ragline_common.ports.vector_store import SparseVector


class SparseEncoder(Protocol):
    @property
    def model_id(self) -> str: ...

    async def encode_documents(self, texts: Sequence[str]) -> list[SparseVector]:
        """Weights of each text as an indexed chunk; runs off the event loop."""

    def encode_query(self, text: str) -> SparseVector:
        """Weights of a query: cheap (a bounded query string), so it runs inline."""
