"""Near-identical chunks collapse to the best-ranked copy; different passages all stay."""

from __future__ import annotations

from ragline_common.contracts.search import SearchHit
from ragline_gateway.domain.near_duplicates import without_near_duplicates

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
