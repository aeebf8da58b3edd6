"""Near-identical chunks collapse to the best-ranked copy; different passages all stay."""

from __future__ import annotations

import random
import re

from ragline_common.contracts.search import SearchHit
from ragline_gateway.domain.near_duplicates import _words, without_near_duplicates

PASSAGE = (
    "Refunds are issued within fourteen days of the return being received at our warehouse, "
    "provided the goods are unused and in their original packaging with the receipt attached."
)


def hit(chunk_id: str, text: str) -> SearchHit:
    return SearchHit(
        document_id=f"doc-{chunk_id}",
        chunk_id=chunk_id,
        text=text,
        score=1.0,
        metadata={},
        title="t",
        source_name="s",
        version=1,
        chunk_index=0,
    )


def ids(hits: list[SearchHit]) -> list[str]:
    return [h.chunk_id for h in hits]


def test_copies_differing_in_case_spacing_and_punctuation_are_dropped() -> None:
    hits = [
        hit("a", PASSAGE),
        hit("b", PASSAGE.upper().replace(" ", "  ").replace(",", " ;")),
        hit("c", "Shipping takes three to five working days within the country."),
    ]
    assert ids(without_near_duplicates(hits, 10)) == ["a", "c"]


def test_a_copy_with_a_small_edit_is_dropped_but_a_half_changed_one_stays() -> None:
    edited = PASSAGE.replace("fourteen", "fifteen")
    half = " ".join(PASSAGE.split()[:16]) + " and any other text that changes what is said here."
    hits = [hit("a", PASSAGE), hit("b", edited), hit("c", half)]
    assert ids(without_near_duplicates(hits, 10)) == ["a", "c"]


def test_the_best_ranked_copy_is_kept_and_the_limit_counts_kept_hits() -> None:
    hits = [hit("x", "alpha beta"), hit("a", PASSAGE), hit("b", PASSAGE), hit("y", "gamma")]
    assert ids(without_near_duplicates(hits, 3)) == ["x", "a", "y"]
    assert ids(without_near_duplicates(hits, 2)) == ["x", "a"]


def test_empty_texts_are_duplicates_of_each_other_only() -> None:
    hits = [hit("a", ""), hit("b", " ... "), hit("c", "word")]
    assert ids(without_near_duplicates(hits, 10)) == ["a", "c"]


def _reference_words(text: str) -> set[bytes]:
    """The definition the fast word sets must match: ``\\w+`` on the lowercased text (as
    UTF-8 bytes, lone surrogates passed through)."""
    return {word.encode(errors="surrogatepass") for word in re.findall(r"\w+", text.lower())}


TRICKY_TEXTS = [
    "snake_case and CamelCase, 3.14 and x^2; e-mail: a@b.c",
    "Caf\u00e9 na\u00efve \u00c9T\u00c9, \u201cquoted\u201d \u2014 dashes\u2013and"
    "\u00a0no-break spaces",
    # A capital sigma before a separator, at a word's end and inside one (final sigma rules):
    "\u039f\u0394\u039f\u03a3.\u0391 \u0391\u03a3 \u03a3\u039f\u03a6\u039f\u03a3",
    "decomposed e\u0301te\u0301, Kelvin \u212a, \u0130stanbul, stra\u00dfe STRASSE",
    "\u6f22\u5b57\u3068\u304b\u306a\u3002\u4e2d\u6587\uff0c\u6807\u70b9\uff01"
    " \u0661\u0662\u0663 \u00bd",
    "lone \ud800 surrogate\udfff and tabs\tand\nnewlines\x0bvt\x1cfs\x85nel",
    "",
]


def test_word_sets_match_the_regular_expression_on_tricky_text() -> None:
    for text in TRICKY_TEXTS:
        assert _words(text) == _reference_words(text), text


def test_word_sets_match_the_regular_expression_on_random_text() -> None:
    palette = (
        [chr(c) for c in range(128)]
        + list("\u00e9\u00c9\u00df\u0130\u212a\u03a3\u03c3\u0301\u00a0\u2014\u201c\u00bd\u0663")
        + list("\u6f22\u3002\uff0c\u2003\ud800\U0001d400\U0001f600")
    )
    rng = random.Random(15)
    for _ in range(2000):
        text = "".join(rng.choice(palette) for _ in range(rng.randint(0, 40)))
        assert _words(text) == _reference_words(text), repr(text)
