"""Property-based fuzzing of the segmenter and the chunker on their own: units and chunks tile
the visible text, in order, within the token and character budgets, whatever the tokenizer.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ingest_fuzz_harness import COUNT_TOKENS, FUZZ, FUZZ_TIME_LIMIT, TEXT_PIECES, joined

from ragline_common.errors import PermanentProcessingError
from ragline_ingestion.domain.chunking import ChunkingLimits, chunk_document
from ragline_ingestion.domain.parsing import ParsedDocument, Section
from ragline_ingestion.domain.segmenting import segment

pytestmark = FUZZ_TIME_LIMIT

# --- the segmenter and the chunker on their own ---------------------------------------------------


def _squeezing(text: str) -> int:
    """Like WordPiece on hostile text: a long word is one ``[UNK]``, combining marks vanish."""
    return sum(1 for word in text.split() if word.strip("\u0300\u0301\u0302"))


_TOKENIZERS: dict[str, Callable[[str], int]] = {"hash": COUNT_TOKENS, "squeezing": _squeezing}
_SEGMENT_PIECES = st.one_of(
    TEXT_PIECES, st.sampled_from(["\u0301" * 50, "." * 50, "a" * 300, "\n \t\n", '?!"'])
)


@FUZZ
@given(
    text=joined(_SEGMENT_PIECES, max_size=120),
    tokenizer=st.sampled_from(sorted(_TOKENIZERS)),
    max_tokens=st.integers(min_value=1, max_value=40),
    overlap_share=st.floats(min_value=0.0, max_value=0.9),
)
def test_fuzz_segmenter_and_chunker(
    text: str, tokenizer: str, max_tokens: int, overlap_share: float
) -> None:
    """Units and chunks tile the visible text, in order, within both budgets."""
    count = _TOKENIZERS[tokenizer]
    limits = ChunkingLimits(
        max_tokens=max_tokens, overlap_tokens=int(max_tokens * overlap_share), max_chunks=10**6
    )
    units = segment(
        text, 0, len(text), count_tokens=count, max_tokens=max_tokens, max_chars=limits.max_chars
    )
    covered = 0
    for unit in units:
        piece = text[unit.start : unit.end]
        assert covered <= unit.start < unit.end
        assert piece == piece.strip() and not text[covered : unit.start].strip()
        assert unit.tokens == count(piece) <= max_tokens
        assert len(piece) <= limits.max_chars
        covered = unit.end
    assert not text[covered:].strip()
    document = ParsedDocument(text=text, sections=(Section((), 0, len(text)),))
    if not units:
        with pytest.raises(PermanentProcessingError, match="document contains no text"):
            chunk_document(document, count_tokens=count, limits=limits)
        return
    chunks = chunk_document(document, count_tokens=count, limits=limits)
    assert chunks[0].char_start == units[0].start and chunks[-1].char_end == units[-1].end
    for chunk in chunks:
        assert chunk.token_count == count(chunk.text) <= max_tokens
        assert len(chunk.text) <= limits.max_chars
