"""Sentence segmentation and term normalisation for extractive answers.

Deliberately simple and language-light: sentences end at ``.``, ``!`` or ``?`` before a
non-lowercase start (so ``e.g. this`` stays whole), at blank lines, and before list items;
terms are lowercased words without stop words and with plural ``s`` removed. Both sides of a
comparison go through the same steps, so the crudeness costs recall, not correctness.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_BREAK = re.compile(
    r"(?<=[.!?])\s+(?=[^\sa-z])"  # end punctuation, next sentence not lowercase
    r"|(?<=[.!?][\"')\]])\s+(?=[^\sa-z])"  # ... after a closing quote or bracket
    r"|\n[ \t]*\n\s*"  # blank line
    r"|\n(?=[ \t]*(?:[-*•#]|\d+[.)])\s)"  # list item or heading on the next line
)
_WORD = re.compile(r"\w+")
_STOP_WORDS = frozenset(
    """
    a about above after again all also am an and any are as at be because been before being
    between both but by can could did do does doing down during each few for from further had
    has have having he her here hers him his how i if in into is it its itself just me more most
    my no nor not of off on once only or other our ours out over own same she should so some
    such than that the their theirs them then there these they this those through to too under
    until up very was we were what when where which while who whom why will with would you your
    yours please tell explain describe give show know
    """.split()  # noqa: SIM905 - a word list reads better as prose
)


@dataclass(frozen=True)
class Span:
    """A sentence and where it sits in its chunk's text."""

    start: int
    end: int
    text: str


def split_sentences(text: str) -> list[Span]:
    spans: list[Span] = []
    position = 0
    for match in [*_BREAK.finditer(text), None]:
        end = match.start() if match is not None else len(text)
        piece = text[position:end]
        stripped = piece.strip()
        if stripped:
            start = position + (len(piece) - len(piece.lstrip()))
            spans.append(Span(start=start, end=start + len(stripped), text=stripped))
        if match is not None:
            position = match.end()
    return spans


def _normalise(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def terms(text: str) -> frozenset[str]:
    """Content words of ``text``, normalised for matching."""
    return frozenset(
        _normalise(word)
        for word in _WORD.findall(text.lower())
        if word not in _STOP_WORDS and (len(word) > 1 or word.isdigit())
    )
