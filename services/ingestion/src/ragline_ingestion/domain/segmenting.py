"""Cutting a stretch of text into the units chunks are packed from.

The preferred unit is a sentence. A sentence longer than a whole chunk is cut at line breaks,
then at whitespace, and a single "word" longer than a chunk (a URL, a base64 blob) at
characters, so every unit fits in a chunk whatever the input. Units are ``(start, end)`` offsets
into the document text with surrounding whitespace trimmed; their token counts come from the
embedder's tokenizer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

TokenCounter = Callable[[str], int]

# A sentence ends with terminal punctuation (and any closing quotes or brackets) followed by
# whitespace, or at a blank line. Abbreviations split early; packing puts the pieces back
# together, so that only costs overlap precision.
_SENTENCE_END = re.compile(r"[.!?…。！？]+[\"'”’)\]]*(?=\s|$)|\n[ \t]*\n")
_LINE_END = re.compile(r"\n")
_WHITESPACE = re.compile(r"\s+")
_LEVELS = (_SENTENCE_END, _LINE_END, _WHITESPACE)


@dataclass(frozen=True)
class Unit:
    start: int
    end: int
    tokens: int


def segment(
    text: str, start: int, end: int, *, count_tokens: TokenCounter, max_tokens: int
) -> list[Unit]:
    """Units covering the non-blank text of ``text[start:end]``, each of at most ``max_tokens``."""
    return list(_units(text, start, end, 0, count_tokens, max_tokens))


def _units(
    text: str, start: int, end: int, level: int, count_tokens: TokenCounter, max_tokens: int
) -> Iterator[Unit]:
    for piece_start, piece_end in _split(text, start, end, _LEVELS[level]):
        tokens = count_tokens(text[piece_start:piece_end])
        if tokens <= max_tokens:
            yield Unit(piece_start, piece_end, tokens)
        elif level + 1 < len(_LEVELS):
            yield from _units(text, piece_start, piece_end, level + 1, count_tokens, max_tokens)
        else:
            yield from _split_word(text, piece_start, piece_end, tokens, count_tokens, max_tokens)


def _split(text: str, start: int, end: int, boundary: re.Pattern[str]) -> Iterator[tuple[int, int]]:
    """Pieces of ``text[start:end]`` cut after each ``boundary`` match, whitespace trimmed."""
    cursor = start
    for match in boundary.finditer(text, start, end):
        yield from _trimmed(text, cursor, match.end())
        cursor = match.end()
    yield from _trimmed(text, cursor, end)


def _trimmed(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if start < end:
        yield start, end


def _split_word(
    text: str, start: int, end: int, tokens: int, count_tokens: TokenCounter, max_tokens: int
) -> Iterator[Unit]:
    """Cut a whitespace-free run into pieces that fit, guessing each piece's length from the
    characters per token seen so far and shrinking the guess until the tokenizer agrees.

    Only pieces are counted, never the remaining run: recounting the rest after every cut made
    a megabyte-long run quadratic.
    """
    chars_per_token = (end - start) / max(tokens, 1)
    while start < end:
        length = max(1, int(max_tokens * chars_per_token))
        piece_end = min(end, start + length)
        piece_tokens = count_tokens(text[start:piece_end])
        while piece_tokens > max_tokens and piece_end - start > 1:
            piece_end = start + max(1, (piece_end - start) * 3 // 4)
            piece_tokens = count_tokens(text[start:piece_end])
        yield Unit(start, piece_end, piece_tokens)
        chars_per_token = (piece_end - start) / max(piece_tokens, 1)
        start = piece_end
