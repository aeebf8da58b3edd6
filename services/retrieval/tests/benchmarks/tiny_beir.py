"""A hand-made BEIR folder: six abstracts, three queries with one relevant document each."""

from __future__ import annotations

import json
from pathlib import Path

CORPUS = {
    "d1": ("Zebrafish heart", "Zebrafish regenerate cardiac muscle after cryoinjury."),
    "d2": ("Insulin", "Insulin resistance in skeletal muscle precedes type 2 diabetes."),
    "d3": ("Vitamin B12", "Vitamin B12 deficiency raises plasma homocysteine."),
    "d4": ("Malaria", "Artemisinin resistance spreads in Plasmodium falciparum."),
    "d5": ("Telomeres", "Telomerase keeps telomeres long in stem cells."),
    "d6": ("Microbiome", "Gut bacteria ferment fibre into short-chain fatty acids."),
}
QUERIES = {
    "q1": ("Can zebrafish regenerate heart muscle?", "d1"),
    "q2": ("homocysteine and vitamin B12 deficiency", "d3"),
    "q3": ("artemisinin resistant malaria parasites", "d4"),
}


def write_beir(folder: Path) -> None:
    (folder / "qrels").mkdir(parents=True)
    with (folder / "corpus.jsonl").open("w") as corpus:
        for doc_id, (title, text) in CORPUS.items():
            corpus.write(json.dumps({"_id": doc_id, "title": title, "text": text}) + "\n")
    with (folder / "queries.jsonl").open("w") as queries:
        for query_id, (text, _) in QUERIES.items():
            queries.write(json.dumps({"_id": query_id, "text": text}) + "\n")
    rows = "".join(f"{q}\t{doc}\t1\n" for q, (_, doc) in QUERIES.items())
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n" + rows)
