"""The extractive answerer: grounded sentences, resolvable citations, honest empty answers."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from ragline_common.contracts.answer import Answer
from ragline_common.contracts.search import SearchHit
from ragline_generation.domain.extractive import (
    EXTRACTIVE_MODEL,
    NO_INFORMATION_ANSWER,
    ExtractiveAnswerer,
    snippet,
)
from ragline_generation.domain.sentences import Span

MARKER = re.compile(r"\[(\d+)\]")


def hit(
    chunk_id: str, text: str, *, document_id: str = "doc_1", page: int | None = None
) -> SearchHit:
    return SearchHit(
        document_id=document_id,
        chunk_id=chunk_id,
        text=text,
        score=0.5,
        metadata={},
        title=f"Title of {document_id}",
        source_name=f"{document_id}.pdf",
        version=1,
        chunk_index=0,
        heading_path=("Policies", chunk_id),
        page=page,
    )


def answerer(max_sentences: int = 4, snippet_chars: int = 300) -> ExtractiveAnswerer:
    return ExtractiveAnswerer(max_sentences=max_sentences, snippet_chars=snippet_chars)


def assert_citations_resolve(answer: Answer, chunks: list[SearchHit]) -> None:
    """Every [n] has a citation, every citation is used, all point at supplied chunks."""
    used = {int(n) for n in MARKER.findall(answer.answer)}
    assert used == {citation.index for citation in answer.citations}
    assert [c.index for c in answer.citations] == list(range(1, len(answer.citations) + 1))
    supplied = {(chunk.document_id, chunk.chunk_id) for chunk in chunks}
    assert {(c.document_id, c.chunk_id) for c in answer.citations} <= supplied


HANDBOOK = [
    hit(
        "c_holiday",
        "Our office is in Berlin. Employees receive thirty days of paid holiday per year. "
        "Holiday requests go to your manager.",
        document_id="doc_hr",
        page=4,
    ),
    hit(
        "c_refund",
        "Customers may return goods. Refunds are paid within fourteen days of the return.",
        document_id="doc_sales",
        page=9,
    ),
    hit("c_parking", "Parking is free for visitors on weekends.", document_id="doc_site"),
]


def test_the_sentence_that_answers_is_quoted_and_cited() -> None:
    answer = answerer().answer("How many days until refunds are paid?", HANDBOOK)

    assert answer.answer.startswith("Refunds are paid within fourteen days of the return. [1]")
    first = answer.citations[0]
    assert (first.document_id, first.chunk_id, first.page) == ("doc_sales", "c_refund", 9)
    assert first.title == "Title of doc_sales"
    assert first.heading_path == ("Policies", "c_refund")
    assert "Refunds are paid within fourteen days" in first.snippet
    assert "Parking" not in answer.answer
    assert_citations_resolve(answer, HANDBOOK)


def test_citations_are_numbered_in_order_of_first_citation() -> None:
    chunks = [
        hit("c_a", "Alpha widgets are blue."),
        hit("c_b", "Widgets come in red and green. Widgets ship in boxes."),
    ]

    answer = answerer().answer("Which colours do widgets come in: red, green?", chunks)

    assert answer.answer.split(" [")[0] == "Widgets come in red and green."
    assert answer.citations[0].chunk_id == "c_b"
    assert_citations_resolve(answer, chunks)


def test_one_chunk_cited_twice_gets_one_number() -> None:
    chunks = [hit("c1", "Refunds take fourteen days. Refunds need a receipt.")]

    answer = answerer().answer("refunds receipt days", chunks)

    assert answer.answer.count("[1]") == 2
    assert len(answer.citations) == 1


def test_no_chunks_means_no_information_and_no_citations() -> None:
    answer = answerer().answer("What is the refund policy?", [])

    assert answer.answer == NO_INFORMATION_ANSWER
    assert answer.citations == []
    assert answer.mode == "extractive"


def test_chunks_without_words_are_no_information_either() -> None:
    answer = answerer().answer("refunds?", [hit("c1", " ... \n\n -- ")])

    assert answer.answer == NO_INFORMATION_ANSWER
    assert answer.citations == []


def test_usage_reports_the_extractive_model_and_no_tokens() -> None:
    usage = answerer().answer("refunds", HANDBOOK).usage

    assert (usage.model, usage.prompt_tokens, usage.completion_tokens) == (EXTRACTIVE_MODEL, 0, 0)
    assert usage.estimated_cost_usd == 0.0


def test_near_identical_sentences_from_overlapping_chunks_are_quoted_once() -> None:
    sentence = "Refunds are paid within fourteen days of the return."
    chunks = [hit("c1", f"Intro text here. {sentence}"), hit("c2", f"{sentence} More follows.")]

    answer = answerer().answer("When are refunds paid?", chunks)

    assert answer.answer.count("Refunds are paid") == 1


def test_the_sentence_limit_holds() -> None:
    text = " ".join(f"Refund rule number {i} applies to orders." for i in range(1, 12))

    answer = answerer(max_sentences=2).answer("refund rule orders", [hit("c1", text)])

    assert len(MARKER.findall(answer.answer)) == 2


def test_weakly_related_sentences_are_left_out() -> None:
    chunks = [
        hit("c1", "Refunds for damaged parcels are paid within fourteen days."),
        hit("c2", "Parcels are delivered by courier."),
    ]

    answer = answerer().answer("refunds damaged parcels fourteen days", chunks)

    assert "courier" not in answer.answer
    assert [c.chunk_id for c in answer.citations] == ["c1"]


def test_without_shared_words_the_best_ranked_chunk_is_quoted() -> None:
    chunks = [
        hit("c_top", "Reimbursements arrive after two weeks. Keep the receipt."),
        hit("c_next", "Our office is in Berlin."),
    ]

    answer = answerer().answer("money back?", chunks)

    assert answer.answer == "Reimbursements arrive after two weeks. [1]"
    assert [c.chunk_id for c in answer.citations] == ["c_top"]


def test_retrieval_rank_breaks_lexical_ties() -> None:
    chunks = [
        hit("c_first", "Refunds take fourteen days."),
        hit("c_second", "Refunds take ten days."),
    ]

    answer = answerer(max_sentences=1).answer("refunds", chunks)

    assert answer.citations[0].chunk_id == "c_first"


def test_a_run_on_sentence_is_shortened() -> None:
    text = "refund " + "word " * 400

    answer = answerer().answer("refund", [hit("c1", text)])

    quoted = answer.answer.removesuffix(" [1]")
    assert quoted.endswith("…")
    assert len(quoted) <= 601


def test_the_snippet_is_the_chunk_around_the_cited_sentence() -> None:
    text = ("Filler words come first here. " * 20) + "The answer is 42. " + ("More filler. " * 20)
    start = text.index("The answer")
    span = Span(start=start, end=start + len("The answer is 42."), text="The answer is 42.")

    result = snippet(text, span, 80)

    assert "The answer is 42." in result
    assert result.startswith("…")
    assert result.endswith("…")
    assert len(result) <= 82
    body = result.strip("…")
    assert body in text
    # Cut at word boundaries, not inside words.
    assert text[text.index(body) - 1].isspace()


def test_a_short_chunk_is_its_own_snippet() -> None:
    assert snippet("  Short chunk.  ", Span(2, 14, "Short chunk."), 300) == "Short chunk."


def test_a_sentence_longer_than_the_snippet_starts_the_snippet() -> None:
    text = "Intro. " + "Long sentence " * 50 + "end."
    span = Span(7, len(text), text[7:])

    result = snippet(text, span, 60)

    assert result.startswith("…Long sentence")
    assert len(result) <= 62


words = st.sampled_from(
    ["refund", "refunds", "days", "paid", "Holiday", "the", "a", "office", "42", "Berlin", "é"]
)
sentence = st.lists(words, min_size=1, max_size=12).map(lambda ws: " ".join(ws) + ".")
chunk_text = st.lists(sentence, min_size=0, max_size=6).map(" ".join)


@settings(max_examples=150, deadline=None)
@given(
    texts=st.lists(chunk_text, min_size=0, max_size=6),
    question=st.lists(words, min_size=1, max_size=8).map(" ".join),
    max_sentences=st.integers(1, 5),
    snippet_chars=st.integers(40, 200),
)
def test_any_answer_is_grounded_and_every_marker_resolves(
    texts: list[str], question: str, max_sentences: int, snippet_chars: int
) -> None:
    chunks = [hit(f"c{i}", text, document_id=f"doc_{i}") for i, text in enumerate(texts)]

    answer = answerer(max_sentences, snippet_chars).answer(question, chunks)

    assert_citations_resolve(answer, chunks)
    assert len(MARKER.findall(answer.answer)) <= max_sentences
    by_chunk = {chunk.chunk_id: chunk.text for chunk in chunks}
    for citation in answer.citations:
        assert len(citation.snippet) <= snippet_chars + 2
        assert citation.snippet.strip("…") in by_chunk[citation.chunk_id]
    for quoted in MARKER.split(answer.answer)[::2]:
        quoted = quoted.strip()
        if quoted and quoted != NO_INFORMATION_ANSWER:
            assert any(quoted in chunk.text for chunk in chunks)
    if not answer.citations:
        assert answer.answer == NO_INFORMATION_ANSWER
