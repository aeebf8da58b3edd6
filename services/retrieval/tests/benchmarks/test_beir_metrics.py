"""BEIR loading and metrics, against values worked out by hand."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from beir import documents_ranked, evaluate, load, mrr_at, ndcg_at, recall_at


def test_ndcg_uses_graded_gains_and_the_ideal_order() -> None:
    judged = {"a": 2, "b": 1, "x": 0}
    # b at rank 1, a at rank 3: (1/log2(2) + 2/log2(4)) / (2/log2(2) + 1/log2(3))
    expected = (1 + 2 / 2) / (2 + 1 / math.log2(3))
    assert ndcg_at(["b", "x", "a"], judged, 10) == pytest.approx(expected)
    assert ndcg_at(["a", "b"], judged, 10) == pytest.approx(1.0)
    assert ndcg_at(["x", "y"], judged, 10) == 0.0
    assert ndcg_at(["x", "a"], judged, 1) == 0.0


def test_recall_counts_relevant_documents_within_k() -> None:
    judged = {"a": 1, "b": 1, "c": 1, "d": 1, "z": 0}
    assert recall_at(["a", "z", "b"], judged, 100) == 0.5
    assert recall_at(["a", "z", "b"], judged, 2) == 0.25


def test_mrr_is_the_reciprocal_rank_of_the_first_relevant_within_k() -> None:
    judged = {"a": 1}
    assert mrr_at(["x", "y", "a"], judged, 10) == pytest.approx(1 / 3)
    assert mrr_at(["x", "y", "a"], judged, 2) == 0.0


def test_evaluate_averages_over_judged_queries_and_missing_rankings_score_zero() -> None:
    qrels = {"q1": {"a": 1}, "q2": {"b": 1}}
    scores = evaluate({"q1": ["a"]}, qrels)
    assert scores == {"ndcg@10": 0.5, "recall@100": 0.5, "mrr@10": 0.5}


def test_chunks_rank_their_document_once_at_its_best_chunk() -> None:
    assert documents_ranked(["d2", "d1", "d2", "d3", "d1"]) == ["d2", "d1", "d3"]


def test_load_reads_a_beir_folder_and_keeps_only_judged_queries(tmp_path: Path) -> None:
    (tmp_path / "qrels").mkdir()
    (tmp_path / "corpus.jsonl").write_text(
        json.dumps({"_id": "d1", "title": "T", "text": "one"})
        + "\n"
        + json.dumps({"_id": 2, "text": "two"})
        + "\n"
    )
    (tmp_path / "queries.jsonl").write_text(
        json.dumps({"_id": "q1", "text": "first"}) + "\n" + json.dumps({"_id": "q9", "text": "x"})
    )
    (tmp_path / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\n")

    data = load(tmp_path)

    assert [(d.id, d.title, d.text) for d in data.corpus] == [("d1", "T", "one"), ("2", "", "two")]
    assert data.queries == {"q1": "first"}
    assert data.qrels == {"q1": {"d1": 1}}
