"""Sentence splitting and term normalisation."""

from __future__ import annotations

from ragline_generation.domain.sentences import split_sentences, terms


def test_sentences_split_at_end_punctuation_blank_lines_and_list_items() -> None:
    text = (
        "Refunds take 14 days. Are returns free? Yes!\n\n"
        "# Shipping\n- Parcels ship daily\n- Letters ship weekly"
    )

    assert [span.text for span in split_sentences(text)] == [
        "Refunds take 14 days.",
        "Are returns free?",
        "Yes!",
        "# Shipping",
        "- Parcels ship daily",
        "- Letters ship weekly",
    ]


def test_spans_point_at_the_sentence_in_the_original_text() -> None:
    text = '  First one.   "Second one." Third\nline continues.  '

    spans = split_sentences(text)

    assert [span.text for span in spans] == [
        "First one.",
        '"Second one."',
        "Third\nline continues.",
    ]
    assert all(text[span.start : span.end] == span.text for span in spans)


def test_abbreviations_before_lowercase_words_do_not_split() -> None:
    assert [s.text for s in split_sentences("Use e.g. the portal. Then wait.")] == [
        "Use e.g. the portal.",
        "Then wait.",
    ]


def test_empty_text_has_no_sentences() -> None:
    assert split_sentences("   \n\n ") == []


def test_terms_drop_stop_words_and_fold_plurals() -> None:
    assert terms("What are the Refund policies for BOXES, the boss and status?") == {
        "refund",
        "policy",
        "boxe",
        "boss",
        "status",
    }
    assert terms("refunds") == terms("Refund")
    assert terms("the a of") == frozenset()
    assert terms("Version 2 of 3") == {"version", "2", "3"}
