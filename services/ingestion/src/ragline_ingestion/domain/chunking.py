"""Structure-aware chunking: sections first, then sentences packed up to a token budget.

Chunks never cross a section, so each has one heading path (and one page). Within a section,
whole sentences are packed greedily up to ``max_tokens`` (the embedder's tokens, since that is
what the model truncates by), and the next chunk repeats the last sentences of the previous
one, up to ``overlap_tokens``, so a fact split across a boundary is still found whole. Every
chunk is an exact slice ``text[char_start:char_end]`` of the extracted text.

The work is bounded whatever the text: a document longer than ``max_document_chars`` fails
before any of it is cut, a chunk is never longer than ``max_chars`` characters (see
:mod:`.segmenting` for why the token budget alone does not bound it), and no step rescans
what it has already passed, so chunking time grows linearly with the text.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

from ragline_common.errors import PermanentProcessingError
from ragline_ingestion.domain.parsing import ParsedDocument
from ragline_ingestion.domain.segmenting import TokenCounter, Unit, segment, trimmed_span

MAX_CHARS_PER_TOKEN = 16
"""Characters a chunk may have per token of its budget. Real text averages 3-6 characters
per word piece, so this never binds it; it cuts the runs a tokenizer squeezes into a token or
none (long words read as one ``[UNK]``, combining marks that are stripped)."""

WHOLE_CHARS_PER_TOKEN = 5
"""A section of up to this many characters per token of the budget is first counted whole, in
case it is one chunk. Prose averages 4-5 characters per word piece, so a longer section is
rarely one chunk and its count would be wasted (on 300 SciFact abstracts: 2,519 counts with 5,
2,663 with the character cap of 16, 3,108 without trying)."""

DEFAULT_MAX_DOCUMENT_CHARS = 10_000_000
"""About twice what the default 5,000 chunks of dense prose hold."""


@dataclass(frozen=True)
class ChunkingLimits:
    max_tokens: int
    overlap_tokens: int
    max_chunks: int
    max_document_chars: int = DEFAULT_MAX_DOCUMENT_CHARS
    max_seconds: float | None = None
    """Wall-clock time one document may take to chunk (``None``: no deadline)."""

    @property
    def max_chars(self) -> int:
        """Longest chunk in characters, whatever the tokenizer makes of it."""
        return self.max_tokens * MAX_CHARS_PER_TOKEN


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
    if len(document.text) > limits.max_document_chars:
        raise PermanentProcessingError(
            f"the document has {len(document.text)} characters of text; the limit is "
            f"{limits.max_document_chars} (split it into smaller documents)",
            code="document_too_long",
        )
    if not document.text.strip():
        raise PermanentProcessingError("document contains no text", code="empty_document")
    if limits.max_seconds is not None:
        count_tokens = _with_deadline(count_tokens, limits.max_seconds)
    text = document.text
    chunks: list[Chunk] = []
    for section in document.sections:
        whole = _whole(text, section.start, section.end, count_tokens, limits)
        if whole is not None:
            spans: Iterator[tuple[int, int, int]] = iter([whole])
        else:
            units = segment(
                text,
                section.start,
                section.end,
                count_tokens=count_tokens,
                max_tokens=limits.max_tokens,
                max_chars=limits.max_chars,
            )
            spans = _pack(text, units, count_tokens, limits)
        for start, end, tokens in spans:
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


def _whole(
    text: str, start: int, end: int, count_tokens: TokenCounter, limits: ChunkingLimits
) -> tuple[int, int, int] | None:
    """``(start, end, tokens)`` of the section as one chunk, if it fits in one.

    Many sections (and documents: an abstract, a ticket, a page of notes) are one chunk.
    Packing would count each sentence and then the chunk they make, the very same span: one
    count of the whole section gives that chunk directly. The chunk is the one packing makes
    whenever a span's count is the sum of its sentences' (WordPiece, which never merges
    across whitespace); with other tokenizers it may be one chunk where packing made two, and
    within the budget all the same. A section that turns out too long costs one count of at
    most ``WHOLE_CHARS_PER_TOKEN`` characters per budget token before it is cut as usual.
    """
    span = trimmed_span(text, start, end)
    tried = min(limits.max_chars, limits.max_tokens * WHOLE_CHARS_PER_TOKEN)
    if span is None or span[1] - span[0] > tried:
        return None
    tokens = count_tokens(text[span[0] : span[1]])
    return (span[0], span[1], tokens) if tokens <= limits.max_tokens else None


def _with_deadline(count_tokens: TokenCounter, seconds: float) -> TokenCounter:
    """``count_tokens`` that fails the document once ``seconds`` have passed.

    Chunking runs in a worker thread, which nothing can stop from outside; the token count is
    the one call every step makes, on at most a chunk's worth of text, so checking the clock
    there bounds the time between checks without threading a deadline through every loop.
    """
    deadline = time.monotonic() + seconds

    def counted(text: str) -> int:
        if time.monotonic() > deadline:
            raise PermanentProcessingError(
                f"cutting the document into chunks took longer than {seconds:g} s",
                code="chunk_timeout",
            )
        return count_tokens(text)

    return counted


def _pack(
    text: str, units: list[Unit], count_tokens: TokenCounter, limits: ChunkingLimits
) -> Iterator[tuple[int, int, int]]:
    """``(start, end, tokens)`` of each chunk: units ``[first, last)``, where the units before
    ``fresh`` repeat the end of the previous chunk."""

    def fits(first: int, last: int, tokens: int) -> bool:
        """Would units ``[first, last]`` (inclusive) with ``tokens`` make a chunk in budget?"""
        return (
            tokens <= limits.max_tokens and units[last].end - units[first].start <= limits.max_chars
        )

    fresh = 0
    first = 0
    while fresh < len(units):
        # Give up overlap rather than progress: the first fresh unit must fit.
        total = sum(unit.tokens for unit in units[first:fresh])
        while first < fresh and not fits(first, fresh, total + units[fresh].tokens):
            total -= units[first].tokens
            first += 1
        last = fresh
        while last < len(units) and fits(first, last, total + units[last].tokens):
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
    if last - first == 1:
        return first, last, units[first].tokens  # one unit: its own text, already counted
    tokens = count_tokens(text[units[first].start : units[last - 1].end])
    while tokens > limits.max_tokens and last - first > 1:
        if last - 1 > fresh:
            last -= 1
        else:
            first += 1
        tokens = count_tokens(text[units[first].start : units[last - 1].end])
    return first, last, tokens
