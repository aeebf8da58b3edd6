"""Dropping near-identical chunks from a result list, keeping the best-ranked copy.

The same passage often reaches an index more than once: a file uploaded under two names, a
boilerplate paragraph in every report, a page saved as both HTML and PDF. Ten copies of one
passage make a poor top ten and waste an LLM's context. Two chunks are near-identical when their
sets of lowercased words overlap by at least :data:`MIN_JACCARD` (whitespace, case, punctuation
and small edits do not matter, a different paragraph does).

A hit indexed with a word sketch (:mod:`ragline_common.indexing.word_sets`) is compared by its
sketch first, and its word set is built only if the sketches leave a copy possible: in a
result list without copies, no set at all (0.2-0.35 ms less per search on two cores). Hits
without one (indexed before sketches, or from a retrieval service in another process, whose
answer does not carry them) have their sets built from the text, as before.

This runs after the visibility filter on purpose: were an old version's chunk kept as "the"
copy and then hidden, its current twin would vanish with it.
"""

from __future__ import annotations

from collections.abc import Sequence

from ragline_common.contracts.search import SearchHit
from ragline_common.indexing.word_sets import may_be_near_identical, parse_word_sketch, words

MIN_JACCARD = 0.9


class _Compared:
    """A hit, its sketch if it has one, and its word set once a comparison needed it."""

    __slots__ = ("_words", "hit", "sketch")

    def __init__(self, hit: SearchHit) -> None:
        self.hit = hit
        self.sketch = parse_word_sketch(hit.word_sketch)
        self._words: set[bytes] | None = None

    @property
    def words(self) -> set[bytes]:
        if self._words is None:
            self._words = words(self.hit.text)
        return self._words

    def near_identical(self, other: _Compared) -> bool:
        if (
            self.sketch is not None
            and other.sketch is not None
            and not may_be_near_identical(self.sketch, other.sketch, MIN_JACCARD)
        ):
            return False
        return _near_identical(self.words, other.words)


def _near_identical(a: set[bytes], b: set[bytes]) -> bool:
    small, large = (a, b) if len(a) <= len(b) else (b, a)
    if not large:
        return True
    # |A n B| / |A u B| <= |small| / |large|: most pairs are ruled out by their sizes alone.
    if len(small) < MIN_JACCARD * len(large):
        return False
    shared = len(small & large)
    return shared >= MIN_JACCARD * (len(small) + len(large) - shared)


def without_near_duplicates(hits: Sequence[SearchHit], limit: int) -> list[SearchHit]:
    """The first ``limit`` hits, in order, that are not near-identical to an earlier kept hit.

    Each hit is compared with the kept ones only, so the cost is at most ``len(hits) * limit``
    comparisons (``top_k`` is bounded).
    """
    kept: list[_Compared] = []
    for hit in hits:
        if len(kept) == limit:
            break
        candidate = _Compared(hit)
        if not any(candidate.near_identical(other) for other in kept):
            kept.append(candidate)
    return [compared.hit for compared in kept]
