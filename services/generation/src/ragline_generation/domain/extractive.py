"""Extractive answers: the question answered with sentences quoted from the retrieved chunks.

This is the answer path when no LLM is configured (and the fallback when one fails). It cannot
invent anything: each sentence of the answer is copied from a chunk the caller supplied, and
each ``[n]`` after it resolves to the citation of that chunk.

Sentences are ranked by how much of the question they cover, each question term weighted by
its rarity among the candidate sentences (a term every sentence shares says little), plus a small
bonus for the chunk's retrieval rank, which carries the semantic signal lexical overlap misses.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from ragline_common.contracts.answer import Answer, Citation, Usage
from ragline_common.contracts.search import SearchHit
from ragline_generation.domain.sentences import Span, split_sentences, terms

NO_INFORMATION_ANSWER = "The knowledge base has no relevant information to answer this question."
EXTRACTIVE_MODEL = "extractive"

_RANK_WEIGHT = 0.15
"""Bonus of the top-ranked chunk's sentences; falls off as 1 / (1 + rank)."""
_KEEP_RATIO = 0.5
"""A sentence must cover at least this share of the best sentence's coverage to be quoted."""
_DUPLICATE_JACCARD = 0.8
"""Sentences whose term sets overlap this much say the same thing (overlapping chunks)."""
_MAX_SENTENCE_CHARS = 600
_ELLIPSIS = "…"
_WHITESPACE = re.compile(r"\s")


@dataclass(frozen=True)
class _Candidate:
    rank: int
    span: Span
    terms: frozenset[str]


@dataclass(frozen=True)
class _Scored:
    candidate: _Candidate
    coverage: float
    score: float


class ExtractiveAnswerer:
    """Pure and synchronous; callers run it off the event loop."""

    def __init__(self, *, max_sentences: int, snippet_chars: int) -> None:
        self._max_sentences = max_sentences
        self._snippet_chars = snippet_chars

    def answer(
        self, question: str, chunks: Sequence[SearchHit], numbers: Sequence[int] | None = None
    ) -> Answer:
        """``numbers[i]`` is the ``[n]`` of ``chunks[i]`` when the caller already numbered its
        sources (a stream announced them first); otherwise citations count up from 1."""
        candidates = [
            _Candidate(rank=rank, span=span, terms=terms(span.text))
            for rank, chunk in enumerate(chunks)
            for span in split_sentences(chunk.text)
        ]
        candidates = [candidate for candidate in candidates if candidate.terms]
        if not candidates:
            return _answer(NO_INFORMATION_ANSWER, [])
        chosen = self._choose(terms(question), candidates)
        return self._compose(chosen, chunks, numbers)

    def _choose(
        self, question_terms: frozenset[str], candidates: list[_Candidate]
    ) -> list[_Candidate]:
        scored = _score(question_terms, candidates)
        if not scored:
            # Nothing shares a word with the question (a paraphrase the embedding caught):
            # quote the opening of the best-ranked chunk rather than guess among the rest.
            return [min(candidates, key=lambda c: (c.rank, c.span.start))]
        best_coverage = max(item.coverage for item in scored)
        chosen: list[_Candidate] = []
        for item in sorted(
            scored, key=lambda s: (-s.score, s.candidate.rank, s.candidate.span.start)
        ):
            if len(chosen) == self._max_sentences:
                break
            if item.coverage < best_coverage * _KEEP_RATIO:
                continue
            if any(
                _jaccard(item.candidate.terms, kept.terms) >= _DUPLICATE_JACCARD for kept in chosen
            ):
                continue
            chosen.append(item.candidate)
        return chosen

    def _compose(
        self,
        chosen: list[_Candidate],
        chunks: Sequence[SearchHit],
        fixed: Sequence[int] | None,
    ) -> Answer:
        numbers: dict[int, int] = {}
        citations: list[Citation] = []
        parts: list[str] = []
        for candidate in chosen:
            if candidate.rank not in numbers:
                numbers[candidate.rank] = (
                    fixed[candidate.rank] if fixed is not None else len(numbers) + 1
                )
                chunk = chunks[candidate.rank]
                citations.append(
                    Citation.of(
                        chunk,
                        index=numbers[candidate.rank],
                        snippet=snippet(chunk.text, candidate.span, self._snippet_chars),
                    )
                )
            parts.append(f"{_shorten(candidate.span.text)} [{numbers[candidate.rank]}]")
        return _answer(" ".join(parts), citations)


def _score(question_terms: frozenset[str], candidates: list[_Candidate]) -> list[_Scored]:
    """Coverage-scored candidates that share at least one term with the question."""
    if not question_terms:
        return []
    document_frequency = Counter(
        term for candidate in candidates for term in candidate.terms & question_terms
    )
    weight = {
        term: math.log(1 + len(candidates) / (1 + document_frequency[term]))
        for term in question_terms
    }
    total = sum(weight.values())
    scored: list[_Scored] = []
    for candidate in candidates:
        shared = candidate.terms & question_terms
        if shared:
            coverage = sum(weight[term] for term in shared) / total
            scored.append(
                _Scored(candidate, coverage, coverage + _RANK_WEIGHT / (1 + candidate.rank))
            )
    return scored


def _jaccard(left: frozenset[str], right: frozenset[str]) -> float:
    return len(left & right) / len(left | right)


def _shorten(sentence: str) -> str:
    """A run-on "sentence" (a table row, text without punctuation) is cut at a word boundary."""
    if len(sentence) <= _MAX_SENTENCE_CHARS:
        return sentence
    cut = sentence.rfind(" ", 0, _MAX_SENTENCE_CHARS)
    return sentence[: cut if cut > 0 else _MAX_SENTENCE_CHARS].rstrip() + _ELLIPSIS


def snippet(text: str, sentence: Span, limit: int) -> str:
    """At most ``limit`` characters of ``text`` around ``sentence``, cut at word boundaries."""
    if len(text) <= limit:
        return text.strip()
    if sentence.end - sentence.start >= limit:
        low, high = sentence.start, sentence.start + limit
    else:
        spare = limit - (sentence.end - sentence.start)
        low = max(0, sentence.start - spare // 2)
        high = min(len(text), low + limit)
        low = max(0, high - limit)
    if low > 0 and not text[low - 1].isspace():
        # Start at the next word, but never later than the cited sentence.
        space = _WHITESPACE.search(text, low, sentence.start)
        low = space.end() if space is not None else sentence.start
    if high < len(text) and not text[high].isspace():
        floor = sentence.end if sentence.end < high else low + limit // 2
        boundary = max(text.rfind(" ", floor, high), text.rfind("\n", floor, high))
        if boundary != -1:
            high = boundary
    body = text[low:high].strip()
    return f"{_ELLIPSIS if low > 0 else ''}{body}{_ELLIPSIS if high < len(text) else ''}"


def _answer(text: str, citations: list[Citation]) -> Answer:
    return Answer(
        answer=text,
        citations=citations,
        mode="extractive",
        usage=Usage(model=EXTRACTIVE_MODEL, prompt_tokens=0, completion_tokens=0),
    )
