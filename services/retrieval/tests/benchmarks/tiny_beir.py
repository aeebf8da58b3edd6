"""A hand-made BEIR folder (six abstracts, three queries with one relevant document each) and
a way to run a benchmark script on it as ``make`` does, with its index kept in the test's
temporary folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"

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


def run_benchmark(script: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``script`` (a file in ``benchmarks/``) on the tiny folder, which it writes first."""
    data = tmp_path / "tiny"
    write_beir(data)
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "RAGLINE_BENCH_INDEX_DIR": str(tmp_path / "index"),
    }
    return subprocess.run(
        [sys.executable, str(BENCHMARKS / script), "--data", str(data), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=540,
        check=False,
    )
