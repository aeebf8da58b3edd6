"""Cutting a stretch of text into the units chunks are packed from.

The preferred unit is a sentence. A sentence longer than a whole chunk is cut at line breaks,
then at whitespace, and a single "word" longer than a chunk (a URL, a base64 blob) at
characters, so every unit fits in a chunk whatever the input. Units are ``(start, end)`` offsets
into the document text with surrounding whitespace trimmed; their token counts come from the
embedder's tokenizer.

A unit fits when it is within ``max_tokens`` *and* ``max_chars``: tokenizers squeeze some
hostile runs into almost nothing (WordPiece reads any word over 100 characters as one
``[UNK]``, and drops combining marks altogether), so the token budget alone would let a
megabyte through as one unit. The character cap also bounds the tokenizer's work: a piece
longer than it is cut further without being counted, so every character is counted a few
times at most, and no single count reads more than ``max_chars`` characters.

Everything here runs on text a stranger chose, in the worker, holding the GIL: every pattern
must match in linear time (see ``_SENTENCE_END``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

TokenCounter = Callable[[str], int]

# A sentence ends with terminal punctuation (and any closing quotes or brackets) followed by
# whitespace, or at a blank line. Abbreviations split early; packing puts the pieces back
# together, so that only costs overlap precision.
#
# Linear time on any input: a match may only start at the first mark of a run (the
# lookbehind), and the possessive quantifiers never give characters back (giving one back
# could not help: the next character would be a mark or a quote, not whitespace). Without
# both, a run of marks not followed by whitespace was rescanned from every one of its
# characters: quadratic, one second for 8,000 dots and hours for a megabyte.
_TERMINAL = ".!?…。！？"
_SENTENCE_END = re.compile(rf"(?<![{_TERMINAL}])[{_TERMINAL}]++[\"'”’)\]]*+(?=\s|$)|\n[ \t]*+\n")
_LINE_END = re.compile(r"\n")
_WHITESPACE = re.compile(r"\s+")
_LEVELS = (_SENTENCE_END, _LINE_END, _WHITESPACE)


@dataclass(frozen=True)
class Unit:
    start: int
    end: int
    tokens: int


def segment(
    text: str,
    start: int,
    end: int,
    *,
    count_tokens: TokenCounter,
    max_tokens: int,
    max_chars: int,
) -> list[Unit]:
    """Units covering the non-blank text of ``text[start:end]``, each of at most
    ``max_tokens`` tokens and ``max_chars`` characters."""
    bounds = _Bounds(count_tokens, max_tokens, max_chars)
    return list(_units(text, start, end, 0, bounds))


@dataclass(frozen=True)
class _Bounds:
    count_tokens: TokenCounter
    max_tokens: int
    max_chars: int


def _units(text: str, start: int, end: int, level: int, bounds: _Bounds) -> Iterator[Unit]:
    for piece_start, piece_end in _split(text, start, end, _LEVELS[level]):
        if piece_end - piece_start <= bounds.max_chars:
            tokens = bounds.count_tokens(text[piece_start:piece_end])
            if tokens <= bounds.max_tokens:
                yield Unit(piece_start, piece_end, tokens)
                continue
        if level + 1 < len(_LEVELS):
            yield from _units(text, piece_start, piece_end, level + 1, bounds)
        else:
            yield from _split_word(text, piece_start, piece_end, bounds)


def _split(text: str, start: int, end: int, boundary: re.Pattern[str]) -> Iterator[tuple[int, int]]:
    """Pieces of ``text[start:end]`` cut after each ``boundary`` match, whitespace trimmed."""
    cursor = start
    for match in boundary.finditer(text, start, end):
        yield from _trimmed(text, cursor, match.end())
        cursor = match.end()
    yield from _trimmed(text, cursor, end)


def trimmed_span(text: str, start: int, end: int) -> tuple[int, int] | None:
    """``text[start:end]`` without surrounding whitespace, as units are (None: all blank)."""
    return next(_trimmed(text, start, end), None)


def _trimmed(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if start < end:
        yield start, end


def _split_word(text: str, start: int, end: int, bounds: _Bounds) -> Iterator[Unit]:
    """Cut a whitespace-free run into pieces that fit.

    Each piece's length is guessed from the characters per token of the piece before (the
    first guess is the character cap) and, while the tokenizer disagrees, shrunk in
    proportion to how far over it is. Only pieces are ever counted, never the remaining run:
    recounting the rest after every cut made a megabyte-long run quadratic.
    """
    length = bounds.max_chars
    while start < end:
        piece_end = min(end, start + length)
        piece_tokens = bounds.count_tokens(text[start:piece_end])
        while piece_tokens > bounds.max_tokens and piece_end - start > 1:
            piece_length = piece_end - start
            # At most three quarters, so a tokenizer that is not proportional still converges.
            shrunk = min(piece_length * 3 // 4, piece_length * bounds.max_tokens // piece_tokens)
            piece_end = start + max(1, shrunk)
            piece_tokens = bounds.count_tokens(text[start:piece_end])
        yield Unit(start, piece_end, piece_tokens)
        chars_per_token = (piece_end - start) / max(piece_tokens, 1)
        length = max(1, min(bounds.max_chars, int(bounds.max_tokens * chars_per_token)))
        start = piece_end
