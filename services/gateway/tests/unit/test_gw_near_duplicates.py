"""Near-identical chunks collapse to the best-ranked copy; different passages all stay."""

from __future__ import annotations

import pytest

from ragline_common.contracts.search import SearchHit
from ragline_common.indexing.word_sets import word_sketch
from ragline_gateway.domain.near_duplicates import without_near_duplicates

PASSAGE = (
    "Refunds are issued within fourteen days of the return being received at our warehouse, "
    "provided the goods are unused and in their original packaging with the receipt attached."
)


def hit(chunk_id: str, text: str, *, sketched: bool = False) -> SearchHit:
    return SearchHit(
        word_sketch=word_sketch(text) if sketched else None,
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


def hits_of(chunk_ids: str, texts: list[str], *, sketched: bool) -> list[SearchHit]:
    return [hit(i, text, sketched=sketched) for i, text in zip(chunk_ids, texts, strict=True)]


def ids(hits: list[SearchHit]) -> list[str]:
    return [h.chunk_id for h in hits]


@pytest.mark.parametrize("sketched", [False, True])
def test_copies_differing_in_case_spacing_and_punctuation_are_dropped(sketched: bool) -> None:
    hits = [
        hit("a", PASSAGE, sketched=sketched),
        hit("b", PASSAGE.upper().replace(" ", "  ").replace(",", " ;"), sketched=sketched),
        hit(
            "c", "Shipping takes three to five working days within the country.", sketched=sketched
        ),
    ]
    assert ids(without_near_duplicates(hits, 10)) == ["a", "c"]


@pytest.mark.parametrize("sketched", [False, True])
def test_a_copy_with_a_small_edit_is_dropped_but_a_half_changed_one_stays(sketched: bool) -> None:
    edited = PASSAGE.replace("fourteen", "fifteen")
    half = " ".join(PASSAGE.split()[:16]) + " and any other text that changes what is said here."
    hits = [
        hit(i, text, sketched=sketched)
        for i, text in zip("abc", [PASSAGE, edited, half], strict=True)
    ]
    assert ids(without_near_duplicates(hits, 10)) == ["a", "c"]


@pytest.mark.parametrize("sketched", [False, True])
def test_the_best_ranked_copy_is_kept_and_the_limit_counts_kept_hits(sketched: bool) -> None:
    texts = ["alpha beta", PASSAGE, PASSAGE, "gamma"]
    hits = hits_of("xaby", texts, sketched=sketched)
    assert ids(without_near_duplicates(hits, 3)) == ["x", "a", "y"]
    assert ids(without_near_duplicates(hits, 2)) == ["x", "a"]


@pytest.mark.parametrize("sketched", [False, True])
def test_empty_texts_are_duplicates_of_each_other_only(sketched: bool) -> None:
    hits = [
        hit(i, text, sketched=sketched)
        for i, text in zip("abc", ["", " ... ", "word"], strict=True)
    ]
    assert ids(without_near_duplicates(hits, 10)) == ["a", "c"]


def test_hits_with_and_without_a_sketch_compare_alike() -> None:
    """A result list mixes chunks indexed before sketches existed with newer ones."""
    hits = [hit("a", PASSAGE), hit("b", PASSAGE.lower(), sketched=True), hit("c", "other words")]
    assert ids(without_near_duplicates(hits, 10)) == ["a", "c"]
    hits = [hit("a", PASSAGE, sketched=True), hit("b", PASSAGE.lower()), hit("c", "other words")]
    assert ids(without_near_duplicates(hits, 10)) == ["a", "c"]


def test_a_sketch_of_another_version_is_ignored_and_the_text_decides() -> None:
    stale = hit("b", PASSAGE).model_copy(update={"word_sketch": "w0:1:1"})
    assert ids(without_near_duplicates([hit("a", PASSAGE, sketched=True), stale], 10)) == ["a"]
