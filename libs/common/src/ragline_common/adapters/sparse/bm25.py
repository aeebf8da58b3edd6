"""BM25 sparse vectors from Qdrant's own BM25 implementation (``qdrant_edge.Bm25``).

Qdrant's tokenizer (word boundaries, lowercasing, ASCII folding), its English stop-word list and
the Snowball English stemmer turn text into terms; a term id is a hash of the stemmed term, so
no vocabulary has to be stored or shared between processes. Documents carry BM25's saturated
term frequency ``tf * (k1 + 1) / (tf + k1 * (1 - b + b * len / avg_len))``; queries carry 1.0
per distinct term; the IDF is the store's ``Modifier.IDF`` at query time, counted over the
querying tenant's own chunks, so it follows the tenant's corpus as it grows instead of being
frozen at indexing time, and other tenants' documents never move it.

Every parameter is pinned here rather than left to the library's defaults and is part of the
storage layout: changing one changes the vectors of new chunks only, so it needs a re-index
(and a new :data:`BM25_MODEL_ID`). See docs/adr/0010-retrieval.md for how they were chosen.
"""

from __future__ import annotations

from collections.abc import Sequence

import anyio.to_thread
import qdrant_edge as edge

from ragline_common.ports.vector_store import SparseVector

BM25_MODEL_ID = "qdrant-bm25-en-k1.2-b0.75-avg85-v1"

K1 = 1.2
B = 0.75
AVG_LEN = 85.0
"""Average chunk length in terms (after stop words): measured 83 on SciFact's 9,708 chunks
of at most 254 model tokens. Chunks are bounded by the chunker, so this holds for prose in
general; a much shorter or longer chunk size would want it re-measured."""
MAX_TERM_CHARS = 40
"""Longer "terms" are base64, hashes or run-together junk: they only bloat the index."""
MAX_TEXT_CHARS = 2**18
"""Characters of a text that are encoded; the rest is ignored. Chunks are far shorter (the
chunker caps them at 16 characters per token of their budget), so only a whole document
passed by mistake, or a hostile query, gets this far. The encoder is linear (about a quarter
of a second per megabyte), so the cap bounds its time wherever it runs: queries are encoded
on the retrieval service's event loop."""

_BATCH_IN_THREAD = 64
"""Texts encoded per thread hop; the encoder is fast (~7,000 abstracts/s) so hops dominate."""


def _config() -> edge.Bm25Config:
    return edge.Bm25Config(
        k=K1,
        b=B,
        avg_len=AVG_LEN,
        tokenizer=edge.TokenizerType.Word,
        lowercase=True,
        ascii_folding=True,
        stopwords=edge.Language.English,
        stemmer=edge.SnowballParams(edge.SnowballLanguage.English),
        max_token_len=MAX_TERM_CHARS,
    )


class Bm25SparseEncoder:
    """Implements ``SparseEncoder``; stateless, so one instance serves every tenant."""

    def __init__(self) -> None:
        self._model = edge.Bm25(_config())

    @property
    def model_id(self) -> str:
        return BM25_MODEL_ID

    async def encode_documents(self, texts: Sequence[str]) -> list[SparseVector]:
        vectors: list[SparseVector] = []
        for start in range(0, len(texts), _BATCH_IN_THREAD):
            batch = texts[start : start + _BATCH_IN_THREAD]
            vectors.extend(await anyio.to_thread.run_sync(self._documents, batch))
        return vectors

    def encode_query(self, text: str) -> SparseVector:
        return _to_port(self._model.embed_query(text[:MAX_TEXT_CHARS]))

    def _documents(self, texts: Sequence[str]) -> list[SparseVector]:
        return [_to_port(self._model.embed_document(text[:MAX_TEXT_CHARS])) for text in texts]


def _to_port(vector: edge.SparseVector) -> SparseVector:
    return SparseVector(indices=tuple(vector.indices), values=tuple(vector.values))
