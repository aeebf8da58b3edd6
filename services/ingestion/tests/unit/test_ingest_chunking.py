"""Chunks respect the token budget, map back to the text exactly, and keep their headings."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ragline_common.adapters.embedder import HashEmbedder, MiniLmEmbedder
from ragline_common.errors import PermanentProcessingError
from ragline_common.settings import EmbedderSettings
from ragline_ingestion.domain.chunking import Chunk, ChunkingLimits, chunk_document
from ragline_ingestion.domain.parsing import ParsedDocument, Section, default_parsers
from ragline_ingestion.domain.segmenting import TokenCounter

WORDS = HashEmbedder().count_tokens
LIMITS = ChunkingLimits(max_tokens=64, overlap_tokens=12, max_chunks=10_000)


def _plain(text: str) -> ParsedDocument:
    return ParsedDocument(text=text, sections=(Section((), 0, len(text)),))


def _check_invariants(
    document: ParsedDocument, chunks: list[Chunk], count: TokenCounter, limits: ChunkingLimits
) -> None:
    """What every chunking must guarantee, whatever the text."""
    assert [chunk.index for chunk in chunks] == list(range(len(chunks)))
    covered = [False] * len(document.text)
    for chunk in chunks:
        assert chunk.text == document.text[chunk.char_start : chunk.char_end]
        assert chunk.text == chunk.text.strip()
        assert chunk.text
        assert count(chunk.text) <= limits.max_tokens
        assert chunk.token_count == count(chunk.text)
        for position in range(chunk.char_start, chunk.char_end):
            covered[position] = True
    # Nothing is lost: every visible character of a section is in some chunk.
    for section in document.sections:
        for position in range(section.start, section.end):
            assert covered[position] or document.text[position].isspace()


def test_cutting_a_huge_run_counts_each_character_a_bounded_number_of_times() -> None:
    """Cost check without a clock: what the tokenizer is asked to count grows linearly."""
    counted = 0

    def counting(text: str) -> int:
        nonlocal counted
        counted += len(text)
        return math.ceil(len(text) / 3)

    blob = "y" * 300_000
    chunks = chunk_document(_plain(blob), count_tokens=counting, limits=LIMITS)
    assert "".join(chunk.text for chunk in chunks) == blob
    assert counted <= 12 * len(blob), counted


def test_a_long_novel_is_cut_within_bounds_and_covers_everything(shared_docs: Path) -> None:
    raw = (shared_docs / "txt" / "war-and-peace.txt").read_bytes()[:400_000]
    document = default_parsers().parser_for("text/plain").parse(raw)
    limits = ChunkingLimits(max_tokens=256, overlap_tokens=32, max_chunks=10_000)
    chunks = chunk_document(document, count_tokens=WORDS, limits=limits)
    _check_invariants(document, chunks, WORDS, limits)
    # Packing fills chunks: on average well over half the budget.
    assert sum(chunk.token_count for chunk in chunks) / len(chunks) > 256 * 0.6


def test_chunks_keep_the_heading_path_of_their_section(shared_docs: Path) -> None:
    document = (
        default_parsers()
        .parser_for("text/markdown")
        .parse((shared_docs / "md" / "wiki.md").read_bytes())
    )
    chunks = chunk_document(document, count_tokens=WORDS, limits=LIMITS)
    _check_invariants(document, chunks, WORDS, LIMITS)
    for chunk in chunks:
        [section] = [s for s in document.sections if s.start <= chunk.char_start < s.end]
        assert chunk.heading_path == section.heading_path
        assert chunk.char_end <= section.end, "a chunk never crosses a section boundary"
    first_of_section = {c.heading_path: c for c in reversed(chunks)}
    assert first_of_section[("IBM", "1910s–1950s")].text.startswith("1910s–1950s\n\nIBM originated")


def test_consecutive_chunks_overlap_by_whole_sentences_within_the_budget() -> None:
    text = " ".join(f"Sentence {i} says something short." for i in range(60))
    chunks = chunk_document(_plain(text), count_tokens=WORDS, limits=LIMITS)
    assert len(chunks) > 3
    for previous, chunk in itertools.pairwise(chunks):
        assert chunk.char_start < previous.char_end, "the next chunk starts inside the previous"
        assert chunk.char_start > previous.char_start, "and still moves forward"
        overlap = text[chunk.char_start : previous.char_end]
        assert overlap.startswith("Sentence")
        assert overlap.endswith(".")
        assert WORDS(overlap) <= LIMITS.overlap_tokens


def test_no_overlap_when_disabled() -> None:
    text = " ".join(f"Sentence {i} says something short." for i in range(60))
    limits = ChunkingLimits(max_tokens=64, overlap_tokens=0, max_chunks=100)
    chunks = chunk_document(_plain(text), count_tokens=WORDS, limits=limits)
    for previous, chunk in itertools.pairwise(chunks):
        assert chunk.char_start > previous.char_end


def test_a_sentence_longer_than_a_chunk_is_split_at_words() -> None:
    text = "word " * 500 + "end."
    chunks = chunk_document(_plain(text.strip()), count_tokens=WORDS, limits=LIMITS)
    _check_invariants(_plain(text.strip()), chunks, WORDS, LIMITS)
    assert len(chunks) >= 8


def test_a_word_longer_than_a_chunk_is_split_at_characters() -> None:
    # One token per 3 characters, so a 3000-character "word" is 1000 tokens.
    def per_three_chars(text: str) -> int:
        return sum(math.ceil(len(word) / 3) for word in text.split())

    blob = "x" * 3000
    document = _plain(f"Before the blob. {blob} After the blob.")
    chunks = chunk_document(document, count_tokens=per_three_chars, limits=LIMITS)
    _check_invariants(document, chunks, per_three_chars, LIMITS)
    blob_chunks = [c for c in chunks if set(c.text) == {"x"}]
    assert len(blob_chunks) >= 3000 // (LIMITS.max_tokens * 3) - 1
    assert all(c.token_count == LIMITS.max_tokens for c in blob_chunks), "pieces fill the budget"


def test_tables_and_lists_without_punctuation_split_at_lines() -> None:
    rows = "\n".join(f"Row {i} | value {i} | other {i}" for i in range(100))
    chunks = chunk_document(_plain(rows), count_tokens=WORDS, limits=LIMITS)
    _check_invariants(_plain(rows), chunks, WORDS, LIMITS)
    for chunk in chunks:
        assert chunk.text.startswith("Row ")
        assert chunk.text.split("\n")[-1].startswith("Row ")
        assert chunk.text[-1].isdigit(), "rows are never cut in the middle"


@pytest.mark.parametrize("text", ["", "   \n\t  \n"])
def test_a_document_without_text_is_a_permanent_failure(text: str) -> None:
    with pytest.raises(PermanentProcessingError, match="document contains no text"):
        chunk_document(_plain(text), count_tokens=WORDS, limits=LIMITS)


def test_a_document_needing_too_many_chunks_is_refused() -> None:
    text = " ".join(f"Sentence {i} says something short." for i in range(300))
    limits = ChunkingLimits(max_tokens=32, overlap_tokens=0, max_chunks=10)
    with pytest.raises(PermanentProcessingError) as caught:
        chunk_document(_plain(text), count_tokens=WORDS, limits=limits)
    assert caught.value.code == "too_many_chunks"
    assert "more than 10 chunks" in caught.value.detail


def test_the_bound_holds_for_a_tokenizer_that_counts_the_gaps_too() -> None:
    # Counting whitespace makes a chunk cost more than the sum of its sentences.
    def with_gaps(text: str) -> int:
        return len(text.split()) + text.count(" ")

    text = " ".join(f"Sentence {i} says something short." for i in range(80))
    chunks = chunk_document(_plain(text), count_tokens=with_gaps, limits=LIMITS)
    _check_invariants(_plain(text), chunks, with_gaps, LIMITS)


_ALPHABET = st.sampled_from(
    ["duck", "swims", "a", "Lake", ".", "!", "?", " ", " ", "  ", "\n", "\n\n", "é", "x" * 40]
)


@settings(max_examples=150, deadline=None)
@given(
    pieces=st.lists(_ALPHABET, max_size=300),
    max_tokens=st.integers(min_value=2, max_value=40),
    overlap_share=st.floats(min_value=0.0, max_value=0.9),
)
def test_invariants_hold_for_arbitrary_text(
    pieces: list[str], max_tokens: int, overlap_share: float
) -> None:
    text = "".join(pieces)
    limits = ChunkingLimits(
        max_tokens=max_tokens, overlap_tokens=int(max_tokens * overlap_share), max_chunks=10_000
    )
    document = _plain(text)
    if not text.strip():
        with pytest.raises(PermanentProcessingError):
            chunk_document(document, count_tokens=WORDS, limits=limits)
        return
    chunks = chunk_document(document, count_tokens=WORDS, limits=limits)
    _check_invariants(document, chunks, WORDS, limits)


@pytest.fixture(scope="module")
def minilm() -> MiniLmEmbedder:
    embedder = MiniLmEmbedder(EmbedderSettings())
    anyio.run(embedder.warm_up)
    return embedder


@pytest.mark.model
def test_bounds_hold_in_the_real_models_tokens(shared_docs: Path, minilm: MiniLmEmbedder) -> None:
    parsers = default_parsers()
    limits = ChunkingLimits(max_tokens=256, overlap_tokens=32, max_chunks=10_000)
    documents = [
        parsers.parser_for("text/markdown").parse((shared_docs / "md" / "wiki.md").read_bytes()),
        parsers.parser_for("text/plain").parse(
            (shared_docs / "txt" / "war-and-peace.txt").read_bytes()[:60_000]
        ),
    ]
    for document in documents:
        chunks = chunk_document(document, count_tokens=minilm.count_tokens, limits=limits)
        _check_invariants(document, chunks, minilm.count_tokens, limits)
        assert max(chunk.token_count for chunk in chunks) > 200, "chunks use the budget"
