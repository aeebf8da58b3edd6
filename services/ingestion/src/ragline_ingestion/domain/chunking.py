"""Structure-aware chunking: sections first, then sentences packed up to a token budget.

Chunks never cross a section, so each has one heading path (and one page). Within a section,
whole sentences are packed greedily up to ``max_tokens`` (the embedder's tokens, since that is
what the model truncates by), and the next chunk repeats the last sentences of the previous
one, up to ``overlap_tokens``, so a fact split across a boundary is still found whole. Every
chunk is an exact slice ``text[char_start:char_end]`` of the extracted text.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from ragline_common.errors import PermanentProcessingError
from ragline_ingestion.domain.parsing import ParsedDocument
from ragline_ingestion.domain.segmenting import TokenCounter, Unit, segment


@dataclass(frozen=True)
class ChunkingLimits:
    max_tokens: int
    overlap_tokens: int
    max_chunks: int


@dataclass(frozen=True)
class Chunk:
    index: int
    text: str
    char_start: int
    char_end: int
    heading_path: tuple[str, ...]
    page: int | None
    token_count: int


def chunk_document(
    document: ParsedDocument, *, count_tokens: TokenCounter, limits: ChunkingLimits
) -> list[Chunk]:
    """Chunks of ``document`` in reading order; permanent failure if empty or too large."""
    if not document.text.strip():
        raise PermanentProcessingError("document contains no text", code="empty_document")
    text = document.text
    chunks: list[Chunk] = []
    for section in document.sections:
        units = segment(
            text,
            section.start,
            section.end,
            count_tokens=count_tokens,
            max_tokens=limits.max_tokens,
        )
        for start, end, tokens in _pack(text, units, count_tokens, limits):
            if len(chunks) == limits.max_chunks:
                raise PermanentProcessingError(
                    f"document needs more than {limits.max_chunks} chunks; "
                    "split it into smaller documents",
                    code="too_many_chunks",
                )
            chunks.append(
                Chunk(
                    index=len(chunks),
                    text=text[start:end],
                    char_start=start,
                    char_end=end,
                    heading_path=section.heading_path,
                    page=section.page,
                    token_count=tokens,
                )
            )
    if not chunks:
        raise PermanentProcessingError("document contains no text", code="empty_document")
    return chunks


def _pack(
    text: str, units: list[Unit], count_tokens: TokenCounter, limits: ChunkingLimits
) -> Iterator[tuple[int, int, int]]:
    """``(start, end, tokens)`` of each chunk: units ``[first, last)``, where the units before
    ``fresh`` repeat the end of the previous chunk."""
    fresh = 0
    first = 0
    while fresh < len(units):
        # Give up overlap rather than progress: the first fresh unit must fit.
        total = sum(unit.tokens for unit in units[first:fresh])
        while first < fresh and total + units[fresh].tokens > limits.max_tokens:
            total -= units[first].tokens
            first += 1
        last = fresh
        while last < len(units) and total + units[last].tokens <= limits.max_tokens:
            total += units[last].tokens
            last += 1
        last = max(last, fresh + 1)
        first, last, total = _fit(text, units, first, fresh, last, count_tokens, limits)
        yield units[first].start, units[last - 1].end, total
        previous_first, fresh, first = first, last, last
        overlap = 0
        while (
            first - 1 > previous_first
            and overlap + units[first - 1].tokens <= limits.overlap_tokens
        ):
            first -= 1
            overlap += units[first].tokens


def _fit(
    text: str,
    units: list[Unit],
    first: int,
    fresh: int,
    last: int,
    count_tokens: TokenCounter,
    limits: ChunkingLimits,
) -> tuple[int, int, int]:
    """Measure the chunk as one text and shed units until it fits.

    Summing unit counts is exact for tokenizers that never merge across whitespace (WordPiece,
    the hashing counter), but not for every tokenizer; the bound is the promise, so the joined
    text is what gets counted.
    """
    tokens = count_tokens(text[units[first].start : units[last - 1].end])
    while tokens > limits.max_tokens and last - first > 1:
        if last - 1 > fresh:
            last -= 1
        else:
            first += 1
        tokens = count_tokens(text[units[first].start : units[last - 1].end])
    return first, last, tokens
