"""Word sketches never rule out a pair whose word sets are near-identical, and rule out most
pairs that are not."""

from __future__ import annotations

import random
import re

import pytest

from ragline_common.indexing.word_sets import (
    SKETCH_VERSION,
    WordSketch,
    may_be_near_identical,
    parse_word_sketch,
    sketch_of,
    word_sketch,
    words,
)

J = 0.9


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
        assert words(text) == _reference_words(text), text


def test_word_sets_match_the_regular_expression_on_random_text() -> None:
    palette = (
        [chr(c) for c in range(128)]
        + list("\u00e9\u00c9\u00df\u0130\u212a\u03a3\u03c3\u0301\u00a0\u2014\u201c\u00bd\u0663")
        + list("\u6f22\u3002\uff0c\u2003\ud800\U0001d400\U0001f600")
    )
    rng = random.Random(15)
    for _ in range(2000):
        text = "".join(rng.choice(palette) for _ in range(rng.randint(0, 40)))
        assert words(text) == _reference_words(text), repr(text)


def jaccard(a: set[bytes], b: set[bytes]) -> float:
    return len(a & b) / len(a | b) if a | b else 1.0


def test_a_stored_sketch_reads_back_as_the_sets_sketch() -> None:
    text = "The quick brown fox jumps over the lazy dog; the dog sleeps."
    parsed = parse_word_sketch(word_sketch(text))
    assert parsed == sketch_of(words(text))
    assert parsed is not None and parsed.count == len(words(text)) == 9


@pytest.mark.parametrize(
    "stored", [None, "", "w0:3:ff", f"{SKETCH_VERSION}:x:ff", f"{SKETCH_VERSION}:3:", "w1:3:zz"]
)
def test_missing_malformed_or_other_version_sketches_read_as_none(stored: str | None) -> None:
    assert parse_word_sketch(stored) is None


def test_pairs_at_or_above_the_threshold_are_never_ruled_out() -> None:
    """Random vocabularies edited word by word around the threshold, both sides of it."""
    rng = random.Random(15)
    vocabulary = [f"w{i}".encode() for i in range(5000)]
    for _ in range(3000):
        a = set(rng.sample(vocabulary, rng.randint(0, 150)))
        b = set(a)
        for _ in range(rng.randint(0, 12)):
            if b and rng.random() < 0.5:
                b.discard(rng.choice(sorted(b)))
            else:
                b.add(rng.choice(vocabulary))
        if jaccard(a, b) >= J:
            assert may_be_near_identical(sketch_of(a), sketch_of(b), J), a ^ b


def test_the_bound_is_exact_when_hashes_do_not_collide() -> None:
    """With one bit per word, a pair just past the threshold passes and one more word fails."""
    twenty = WordSketch(count=20, bits=(1 << 20) - 1)
    one_more = WordSketch(count=21, bits=(1 << 21) - 1)  # Jaccard 20/21 >= 0.9
    three_more = WordSketch(count=23, bits=(1 << 23) - 1)  # 20/23 < 0.9
    assert may_be_near_identical(twenty, one_more, J)
    assert not may_be_near_identical(twenty, three_more, J)


def test_passages_that_share_half_their_words_are_ruled_out_by_their_sketches() -> None:
    """The common case the sketch exists for: hits on one topic, no copies among them."""
    rng = random.Random(16)
    topic = [f"t{i}".encode() for i in range(150)]
    passages = [
        set(rng.sample(topic, 60)) | {f"p{n}-{i}".encode() for i in range(60)} for n in range(40)
    ]
    sketches = [sketch_of(passage) for passage in passages]
    pairs = [(a, b) for i, a in enumerate(sketches) for b in sketches[i + 1 :]]
    assert not any(may_be_near_identical(a, b, J) for a, b in pairs)
