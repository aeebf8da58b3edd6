"""The property every fuzz test of the parsers holds them to, and the pieces inputs are built from.

The property: whatever the bytes, parsing either gives a well-formed document (sections in
order, disjoint, inside the text) that chunks into exact, bounded slices, or raises the
documented ``PermanentProcessingError``; never another exception, which the worker could only
report as "the parser failed on it". Each example parsed in-process is held to a memory budget
traced by ``tracemalloc``; every fuzz module runs under ``FUZZ_TIME_LIMIT`` as a hang budget.
The tests are ``test_ingest_fuzz_*.py``; inputs that once failed live in ``fuzz_corpus/`` and
are replayed by ``test_ingest_fuzz_corpus.py``.
"""

from __future__ import annotations

import os
import tracemalloc

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from ragline_common.adapters.embedder import HashEmbedder
from ragline_common.errors import PermanentProcessingError
from ragline_ingestion.domain.chunking import ChunkingLimits, chunk_document
from ragline_ingestion.domain.parsing import ParsedDocument, default_parsers

FUZZ_TIME_LIMIT = pytest.mark.timeout(240)
"""Every fuzz module's ``pytestmark``."""

PARSERS = default_parsers()
COUNT_TOKENS = HashEmbedder().count_tokens
LIMITS = ChunkingLimits(max_tokens=24, overlap_tokens=6, max_chunks=1_000_000)
_MEMORY_BUDGET = 64 * 2**20
"""Peak Python allocation for one example of a few kilobytes: generous, it catches blow-ups."""
CAMPAIGN_EXAMPLES = os.environ.get("RAGLINE_FUZZ_EXAMPLES")
"""Set it (say to 5000) for a longer, randomised search; unset, the suite replays the same
120 examples per parser every run, so it never fails on a bug it did not introduce."""
FUZZ = settings(
    max_examples=int(CAMPAIGN_EXAMPLES or 120),
    derandomize=CAMPAIGN_EXAMPLES is None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)

# --- the property --------------------------------------------------------------------------------


def assert_parses_cleanly(content_type: str, content: bytes) -> None:
    """Parse and chunk ``content`` in-process: a sound result or the documented error."""
    tracemalloc.start()
    try:
        _parse_and_chunk(content_type, content)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < _MEMORY_BUDGET, f"{peak / 2**20:.0f} MB for {len(content)} bytes"


def _parse_and_chunk(content_type: str, content: bytes) -> None:
    try:
        document = PARSERS.parser_for(content_type).parse(content)
    except PermanentProcessingError:
        return
    assert_well_formed(document)
    if not any(document.text[s.start : s.end].strip() for s in document.sections):
        with pytest.raises(PermanentProcessingError, match="document contains no text"):
            chunk_document(document, count_tokens=COUNT_TOKENS, limits=LIMITS)
        return
    chunks = chunk_document(document, count_tokens=COUNT_TOKENS, limits=LIMITS)
    for chunk in chunks:
        assert chunk.text == document.text[chunk.char_start : chunk.char_end]
        assert chunk.text and chunk.text == chunk.text.strip()
        assert chunk.token_count <= LIMITS.max_tokens
        assert len(chunk.text) <= LIMITS.max_chars


def assert_well_formed(document: ParsedDocument) -> None:
    previous_end = 0
    for section in document.sections:
        # Plain text is one section of the whole text, even when that is empty.
        assert previous_end <= section.start <= section.end <= len(document.text)
        previous_end = section.end


# --- pieces of every text format -----------------------------------------------------------------

WORDS = st.sampled_from(["duck", "Heron", "é", "漢字", "\u0301", "x" * 60, "1.", "a:b"])


def joined(pieces: st.SearchStrategy[str], *, max_size: int = 60) -> st.SearchStrategy[str]:
    return st.lists(pieces, max_size=max_size).map("".join)


TEXT_PIECES = st.one_of(
    WORDS,
    st.sampled_from([" ", "\n", "\n\n", "\r\n", "\r", "\t", ".", "!?", "…", "。", '."', "\x00"]),
    st.text(max_size=4),
)

WORDPROCESSINGML = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
"""The WordprocessingML namespace of every DOCX package the fuzz tests build."""
