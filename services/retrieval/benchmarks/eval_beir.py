"""Retrieval quality on a BEIR data set, through ``POST /v1/search`` of a running Ragline.

    .venv/bin/python services/retrieval/benchmarks/eval_beir.py [--data FOLDER] [--modes ...]

Indexes the corpus through the gateway and the worker (once; see :mod:`index_stack`), sends
every judged query through ``POST /v1/search`` in each mode with ``top_k=100``, turns chunk hits
into a document ranking (each document at the rank of its best chunk) and computes nDCG@10,
recall@100 and MRR@10 (:mod:`beir`). Writes ``bench-results/eval-<set>.json``
(``{"mode": {"ndcg@10", "recall@100", "mrr@10"}}``) and ``eval-<set>.md``.

Settings of the service come from the environment, so e.g. ``RAGLINE_RETRIEVAL_RRF_K=61``
evaluates another fusion constant on the same index.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import httpx
from beir import BeirSet, documents_ranked, evaluate, load
from index_stack import REPO_ROOT, indexed_ragline

from ragline_testing.public_api import send

DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data" / "scifact"
MODES = ("dense", "sparse", "hybrid")
TOP_K = 100
CLIENTS = 4


async def rankings(
    url: str, api_key: str, document_ids: dict[str, str], data: BeirSet, mode: str
) -> dict[str, list[str]]:
    results: dict[str, list[str]] = {}
    slots = asyncio.Semaphore(CLIENTS)
    headers = {"Authorization": f"Bearer {api_key}"}
    async with httpx.AsyncClient(base_url=url, timeout=60, headers=headers) as client:

        async def one(query_id: str, text: str) -> None:
            async with slots:
                body = {"query": text[:2000], "mode": mode, "top_k": TOP_K}
                hits = (await send(client, "POST", "/v1/search", json=body)).json()["results"]
            results[query_id] = documents_ranked([document_ids[h["document_id"]] for h in hits])

        await asyncio.gather(*(one(qid, text) for qid, text in data.queries.items()))
    return results


def markdown(name: str, scores: dict[str, dict[str, float]], notes: Sequence[str]) -> str:
    lines = [
        f"# Retrieval quality on {name}",
        "",
        "| mode | nDCG@10 | recall@100 | MRR@10 |",
        "|---|---|---|---|",
    ]
    for mode, values in scores.items():
        lines.append(
            f"| {mode} | {values['ndcg@10']:.4f} | {values['recall@100']:.4f} | "
            f"{values['mrr@10']:.4f} |"
        )
    return "\n".join([*lines, "", *notes, ""])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="a BEIR folder")
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--output-dir", type=Path, default=REPO_ROOT / "bench-results")
    args = parser.parse_args()
    data = load(args.data)
    modes = [mode for mode in args.modes.split(",") if mode]
    print(f"{data.name}: {len(data.corpus)} documents, {len(data.queries)} judged queries")
    scores: dict[str, dict[str, float]] = {}
    with indexed_ragline(data, args.data / "corpus.jsonl") as (running, state):
        assert state.document_ids is not None
        for mode in modes:
            started = time.perf_counter()
            ranked = asyncio.run(
                rankings(running.url, state.api_key, state.document_ids, data, mode)
            )
            scores[mode] = evaluate(ranked, data.qrels)
            print(f"{mode:>7}: {scores[mode]} ({time.perf_counter() - started:.1f} s)", flush=True)
    fusion = {
        name: os.environ[name]
        for name in (
            "RAGLINE_RETRIEVAL_RRF_K",
            "RAGLINE_RETRIEVAL_RRF_DENSE_WEIGHT",
            "RAGLINE_RETRIEVAL_RRF_SPARSE_WEIGHT",
        )
        if name in os.environ
    }
    notes = [
        f"{len(data.queries)} judged queries; {len(data.corpus)} documents indexed as "
        f"{state.chunks} chunks ({state.failed} failed); top_k={TOP_K} chunks per query, "
        "documents ranked by their best chunk.",
        f"Fusion settings from the environment: {fusion or 'defaults'}.",
    ]
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / f"eval-{data.name}.json").write_text(json.dumps(scores, indent=2) + "\n")
    (args.output_dir / f"eval-{data.name}.md").write_text(markdown(data.name, scores, notes))
    print(markdown(data.name, scores, notes))
    return 1 if state.failed else 0


if __name__ == "__main__":
    sys.exit(main())
