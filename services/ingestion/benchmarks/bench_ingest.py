"""Ingestion throughput: the real API, queue and worker against a bare ``model.encode``.

Run from the repository root (RabbitMQ and PostgreSQL must be up, as for ``make test``)::

    .venv/bin/python services/ingestion/benchmarks/bench_ingest.py [--limit N]

1. Starts Ragline as separate processes, as in microservices mode: ``retrieval,ingestion``
   (the worker, with the embedded vector store) and ``gateway,generation``, on RabbitMQ under
   a namespace of its own and a PostgreSQL catalog in a database of its own.
   (:mod:`ingest_stack`)
2. Uploads the SciFact abstracts through ``POST /v1/documents`` (JSON text with title, a few
   requests in flight) and polls their jobs. The pipeline time runs from the first upload to
   the moment the last job is seen ``indexed``; its chunks are the jobs' ``chunk_count``.
3. Reads the worker's peak resident memory (``VmHWM``: the kernel's high-water mark, so no
   sampling can miss the peak), stops everything, drops the database and the queues.
4. In this process, recomputes the same chunks with the ingestion parser and chunker, loads
   the same model with the same settings, finds the fastest ``encode`` batch size on a sample
   and times ``encode`` over all the chunks with it, twice, keeping the faster pass
   (:mod:`bare_encode`).

``ratio`` = pipeline chunks/s over raw chunks/s: how much of the model's speed survives the
queue, the API and the bookkeeping around each document. Both halves run in the same run, on
the same machine, so background load skews them alike, though not equally. The client, the
gateway and PostgreSQL share the machine with the worker during the pipeline half (on a
two-core box that costs the worker CPU a real deployment would not take from it).

Writes ``bench-results/ingest.json`` and prints a summary; exits 1 if any job failed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from bare_encode import raw_encode
from ingest_stack import (
    JOBS_IN_FLIGHT,
    REPO_ROOT,
    backing_cpu_seconds,
    process_cpu_seconds,
    ragline_stack,
)

from ragline_testing.public_api import send, settled_job, tenant_with_key

DEFAULT_CORPUS = REPO_ROOT.parent / "shared" / "data" / "scifact" / "corpus.jsonl"
DEFAULT_OUTPUT = REPO_ROOT / "bench-results" / "ingest.json"
JOB_POLL_INTERVAL_S = 0.2
MAX_TITLE_CHARS = 500


@dataclass(frozen=True)
class Document:
    id: str
    title: str
    text: str


@dataclass
class PipelineRun:
    seconds: float = 0.0
    upload_seconds: float = 0.0
    chunks: int = 0
    indexed: int = 0
    failures: dict[str, str] = field(default_factory=dict)


def load_corpus(path: Path, limit: int | None) -> list[Document]:
    documents = []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            title = (record.get("title") or record["_id"])[:MAX_TITLE_CHARS]
            documents.append(Document(id=record["_id"], title=title, text=record["text"]))
            if limit is not None and len(documents) == limit:
                break
    return documents


# --- the pipeline, through the API -------------------------------------------------------------


async def _upload_all(
    client: httpx.AsyncClient,
    documents: Sequence[Document],
    concurrency: int,
    jobs: asyncio.Queue[str | None],
) -> None:
    slots = asyncio.Semaphore(concurrency)

    async def upload(document: Document) -> None:
        async with slots:
            body = {"title": document.title, "text": document.text, "external_id": document.id}
            response = await send(client, "POST", "/v1/documents", json=body)
            await jobs.put(response.json()["job_id"])

    await asyncio.gather(*(upload(document) for document in documents))
    await jobs.put(None)


async def _watch_jobs(client: httpx.AsyncClient, jobs: asyncio.Queue[str | None]) -> PipelineRun:
    """Wait for every job, oldest first: the worker takes them roughly in upload order, so
    by the time the oldest is done most of the next ones are too (one request each)."""
    run = PipelineRun()
    seen: set[str] = set()
    while (job_id := await jobs.get()) is not None:
        if job_id in seen:  # identical text uploaded twice: one job
            continue
        seen.add(job_id)
        job = await settled_job(client, job_id, JOB_POLL_INTERVAL_S)
        if job["status"] == "indexed":
            run.indexed += 1
            run.chunks += job["chunk_count"]
        else:
            run.failures[job_id] = job["reason"]
    return run


async def ingest_through_api(
    url: str, admin_token: str, documents: Sequence[Document], concurrency: int
) -> PipelineRun:
    async with httpx.AsyncClient(base_url=url, timeout=120) as client:
        _, key = await tenant_with_key(client, admin_token, "bench")
        client.headers["Authorization"] = f"Bearer {key}"
        jobs: asyncio.Queue[str | None] = asyncio.Queue()
        started = time.perf_counter()
        uploading = asyncio.create_task(_upload_all(client, documents, concurrency, jobs))
        uploading.add_done_callback(lambda _: uploaded.append(time.perf_counter() - started))
        uploaded: list[float] = []
        run = await _watch_jobs(client, jobs)
        run.seconds = time.perf_counter() - started
        await uploading
        run.upload_seconds = uploaded[0]
        return run


# --- main --------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=None, help="first N documents only")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--upload-concurrency", type=int, default=8)
    parser.add_argument(
        "--batch-sizes", default="16,32,64,128", help="encode batch sizes to try (raw half)"
    )
    args = parser.parse_args()
    documents = load_corpus(args.corpus, args.limit)
    batch_sizes = [int(size) for size in args.batch_sizes.split(",")]
    print(f"ingesting {len(documents)} documents through the API, queue and worker ...")

    with (
        tempfile.TemporaryDirectory(prefix="ragline-bench-") as work,
        ragline_stack(Path(work)) as (url, admin_token, worker, gateway),
    ):
        worker_cpu_s, gateway_cpu_s = process_cpu_seconds(worker), process_cpu_seconds(gateway)
        backing_before, client_cpu_s = backing_cpu_seconds(), time.process_time()
        run = asyncio.run(ingest_through_api(url, admin_token, documents, args.upload_concurrency))
        worker_cpu_s = process_cpu_seconds(worker) - worker_cpu_s
        gateway_cpu_s = process_cpu_seconds(gateway) - gateway_cpu_s
        client_cpu_s = time.process_time() - client_cpu_s
        backing_cpu_s = {
            name: seconds - backing_before[name] for name, seconds in backing_cpu_seconds().items()
        }
        worker_peak_rss_mb = worker.peak_rss_mb()
        if run.failures:
            print(worker.log_tail(), file=sys.stderr)

    print("timing the bare model on the same chunks ...")
    raw = raw_encode(documents, batch_sizes)
    texts, best_batch, raw_per_s, raw_cpu_s = (
        raw.texts,
        raw.best_batch_size,
        raw.chunks_per_s,
        raw.cpu_s,
    )
    pipeline_per_s = run.chunks / run.seconds
    results = {
        "documents": len(documents),
        "indexed": run.indexed,
        "failed": len(run.failures),
        "chunks": run.chunks,
        "recomputed_chunks": len(texts),
        "pipeline_seconds": round(run.seconds, 2),
        "upload_seconds": round(run.upload_seconds, 2),
        "pipeline_chunks_per_s": round(pipeline_per_s, 2),
        "raw_encode_chunks_per_s": round(raw_per_s, 2),
        "raw_encode_best_batch_size": best_batch,
        "raw_encode_sample_chunks_per_s": {
            str(k): round(v, 2) for k, v in raw.by_batch_size.items()
        },
        "raw_encode_single_call_chunks_per_s": round(raw.single_call_chunks_per_s, 2),
        "raw_encode_parallel_chunks_per_s": (
            None if raw.parallel_chunks_per_s is None else round(raw.parallel_chunks_per_s, 2)
        ),
        "ratio": round(pipeline_per_s / raw_per_s, 3),
        "worker_peak_rss_mb": round(worker_peak_rss_mb, 1),
        # CPU time per chunk does not depend on what else runs on the machine: with other
        # load present, cpu_ratio says how much work the pipeline adds around the encode.
        "worker_cpu_ms_per_chunk": round(worker_cpu_s / run.chunks * 1000, 2),
        "raw_encode_cpu_ms_per_chunk": round(raw_cpu_s / len(texts) * 1000, 2),
        # What the front half (API, catalog bookkeeping, dispatch) costs per chunk.
        "gateway_cpu_ms_per_chunk": round(gateway_cpu_s / run.chunks * 1000, 2),
        # The rest of the machine during the pipeline half: the benchmark's own HTTP client
        # (uploads and job polling) and the backing services.
        "client_cpu_ms_per_chunk": round(client_cpu_s / run.chunks * 1000, 2),
        **{
            f"{name}_cpu_ms_per_chunk": round(seconds / run.chunks * 1000, 2)
            for name, seconds in backing_cpu_s.items()
        },
        "cpu_ratio": round((raw_cpu_s / len(texts)) / (worker_cpu_s / run.chunks), 3),
        "cpu_count": os.cpu_count(),
        "embedder_threads": os.environ.get("RAGLINE_EMBEDDER_THREADS", "0 (cores / lanes)"),
        "embedder_parallel_encodes": os.environ.get("RAGLINE_EMBEDDER_PARALLEL_ENCODES", "1"),
        "ingestion_embed_window": os.environ.get("RAGLINE_INGESTION_EMBED_WINDOW", "default"),
        "ingestion_concurrency": os.environ.get("RAGLINE_INGESTION_CONCURRENCY", "default"),
        "embedder_batch_size": os.environ.get("RAGLINE_EMBEDDER_BATCH_SIZE", "default"),
        "tenant_jobs_in_flight": os.environ.get(
            "RAGLINE_GATEWAY_TENANT_JOBS_IN_FLIGHT", str(JOBS_IN_FLIGHT)
        ),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    print(
        f"\npipeline {pipeline_per_s:.1f} chunks/s vs bare encode {raw_per_s:.1f} chunks/s "
        f"(batch {best_batch}): ratio {pipeline_per_s / raw_per_s:.2f} (goal >= 0.85); "
        f"worker peak RSS {worker_peak_rss_mb:.0f} MiB (goal < 1536)"
    )
    for job_id, reason in list(run.failures.items())[:10]:
        print(f"failed: {job_id}: {reason}", file=sys.stderr)
    if len(texts) != run.chunks:
        print(f"warning: recomputed {len(texts)} chunks, the worker made {run.chunks}")
    return 1 if run.failures else 0


if __name__ == "__main__":
    sys.exit(main())
