"""BEIR-format data sets and the standard BEIR retrieval metrics.

A BEIR folder holds ``corpus.jsonl`` (``_id``, ``title``, ``text``), ``queries.jsonl`` (``_id``,
``text``) and ``qrels/<split>.tsv`` (``query-id``, ``corpus-id``, ``score`` with a header line).
Only queries with at least one judgement are evaluated, as BEIR does.

The metrics follow BEIR (which computes them with ``pytrec_eval``, i.e. trec_eval):

- nDCG@k: gain = the graded relevance itself, discount ``log2(rank + 1)``; the ideal ranking
  orders the judged documents by relevance.
- recall@k: relevant documents (score > 0) in the first k, over all relevant documents.
- MRR@k: 1 / rank of the first relevant document within the first k, else 0.

Each is averaged over the evaluated queries.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Document:
    id: str
    title: str
    text: str


@dataclass(frozen=True)
class BeirSet:
    name: str
    corpus: list[Document]
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]
    """query id -> {document id: relevance}."""


def load(folder: Path, split: str = "test") -> BeirSet:
    corpus = []
    with (folder / "corpus.jsonl").open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                record = json.loads(line)
                corpus.append(
                    Document(str(record["_id"]), record.get("title") or "", record["text"])
                )
    qrels: dict[str, dict[str, int]] = {}
    with (folder / "qrels" / f"{split}.tsv").open(encoding="utf-8", newline="") as tsv:
        rows = csv.reader(tsv, delimiter="\t")
        next(rows)  # header
        for query_id, document_id, score in rows:
            qrels.setdefault(query_id, {})[document_id] = int(score)
    queries = {}
    with (folder / "queries.jsonl").open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                record = json.loads(line)
                if str(record["_id"]) in qrels:
                    queries[str(record["_id"])] = record["text"]
    return BeirSet(folder.resolve().name, corpus, queries, qrels)


def ndcg_at(ranking: Sequence[str], judged: Mapping[str, int], k: int) -> float:
    dcg = sum(judged.get(doc, 0) / math.log2(rank + 2) for rank, doc in enumerate(ranking[:k]))
    ideal = sorted((rel for rel in judged.values() if rel > 0), reverse=True)[:k]
    idcg = sum(rel / math.log2(rank + 2) for rank, rel in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def recall_at(ranking: Sequence[str], judged: Mapping[str, int], k: int) -> float:
    relevant = {doc for doc, rel in judged.items() if rel > 0}
    if not relevant:
        return 0.0
    return len(relevant.intersection(ranking[:k])) / len(relevant)


def mrr_at(ranking: Sequence[str], judged: Mapping[str, int], k: int) -> float:
    for rank, doc in enumerate(ranking[:k]):
        if judged.get(doc, 0) > 0:
            return 1.0 / (rank + 1)
    return 0.0


def evaluate(
    rankings: Mapping[str, Sequence[str]], qrels: Mapping[str, Mapping[str, int]]
) -> dict[str, float]:
    """Mean nDCG@10, recall@100 and MRR@10 over the judged queries (missing ranking = empty)."""
    totals = {"ndcg@10": 0.0, "recall@100": 0.0, "mrr@10": 0.0}
    for query_id, judged in qrels.items():
        ranking = rankings.get(query_id, [])
        totals["ndcg@10"] += ndcg_at(ranking, judged, 10)
        totals["recall@100"] += recall_at(ranking, judged, 100)
        totals["mrr@10"] += mrr_at(ranking, judged, 10)
    return {name: round(total / len(qrels), 4) for name, total in totals.items()}


def documents_ranked(chunk_documents: Sequence[str]) -> list[str]:
    """Chunk hits (best first) -> documents ranked by their best chunk, each once."""
    return list(dict.fromkeys(chunk_documents))
