"""Dropping near-identical chunks from a result list, keeping the best-ranked copy.

The same passage often reaches an index more than once: a file uploaded under two names, a
boilerplate paragraph in every report, a page saved as both HTML and PDF. Ten copies of one
passage make a poor top ten and waste an LLM's context. Two chunks are near-identical when their
sets of lowercased words overlap by at least :data:`MIN_JACCARD` (whitespace, case, punctuation
and small edits do not matter, a different paragraph does).

This runs after the visibility filter on purpose: were an old version's chunk kept as "the"
copy and then hidden, its current twin would vanish with it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ragline_common.contracts.search import SearchHit

MIN_JACCARD = 0.9
_WORD = re.compile(r"\w+")


def _words(text: str) -> frozenset[str]:
    return frozenset(_WORD.findall(text.lower()))


def _near_identical(a: frozenset[str], b: frozenset[str]) -> bool:
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
    set comparisons (``top_k`` is bounded).
    """
    kept: list[SearchHit] = []
    kept_words: list[frozenset[str]] = []
    for hit in hits:
        if len(kept) == limit:
            break
        words = _words(hit.text)
        if any(_near_identical(words, other) for other in kept_words):
            continue
        kept.append(hit)
        kept_words.append(words)
    return kept
