"""Ingestion throughput: the real API, queue and worker against the bare encode of two backends.

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
4. In a child process each, recomputes the same chunks with the ingestion parser and chunker,
   loads the worker's embedding backend (``RAGLINE_EMBEDDER_KIND``, int8 ONNX by default) and
   then the torch one, finds each one's fastest batch size and times its bare encode over a
   fixed sample of the chunks (:mod:`bare_encode`: 2000 chunks, seed 0; the figures are rates).

``ratio`` = pipeline chunks/s over the default backend's bare chunks/s: how much of the
model's speed survives the queue, the API and the bookkeeping around each document (goal
>= 0.6). ``ratio_torch`` = pipeline chunks/s over bare torch's: the whole pipeline against
the old bare model call (goal >= 1.25). The worker's peak RSS must stay under 1 GiB. All
halves run in the same run, on the same machine, so background load skews them alike, though
not equally. The client, the gateway and PostgreSQL share the machine with the worker during
the pipeline half (on a two-core box that costs the worker CPU a real deployment would not
take from it); ``cpu_ms_per_chunk`` says what each process spent.

Writes ``bench-results/ingest.json`` (with a ``goals`` object: goal -> holds) and prints a
summary; exits 1 if any job failed.
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
from bare_encode import RAW_SAMPLE_CHUNKS, RawEncode, raw_encode_in_child
from ingest_stack import (
    JOBS_IN_FLIGHT,
    REPO_ROOT,
    backing_cpu_seconds,
    process_cpu_seconds,
    ragline_stack,
)

from ragline_testing.public_api import send, settled_job, tenant_with_key

# The goal helpers live with the retrieval benchmarks, shared rather than copied.
sys.path.insert(0, str(REPO_ROOT / "services" / "retrieval" / "benchmarks"))
from bench_goals import Goal, goals_object, ratio

DEFAULT_CORPUS = REPO_ROOT.parent / "shared" / "data" / "scifact" / "corpus.jsonl"
DEFAULT_OUTPUT = REPO_ROOT / "bench-results" / "ingest.json"
JOB_POLL_INTERVAL_S = 0.2
MAX_TITLE_CHARS = 500
MIN_RATIO = 0.6
"""Pipeline chunks/s at least this share of the default backend's bare encode."""
MIN_RATIO_TORCH = 1.25
"""Pipeline chunks/s at least this multiple of the bare torch encode (the old model call)."""
MAX_WORKER_PEAK_RSS_MIB = 1024.0


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


# --- results -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PipelineCpu:
    """CPU seconds each process spent during the pipeline half."""

    seconds: dict[str, float]
    """gateway, worker, client, postgres, rabbitmq."""

    def ms_per_chunk(self, chunks: int) -> dict[str, float]:
        return {name: round(s / chunks * 1000, 2) for name, s in self.seconds.items()}


def ingest_goals(
    pipeline_per_s: float, raw: RawEncode, torch: RawEncode, peak_mib: float
) -> list[Goal]:
    """Issue 15's goals for this benchmark, from this run's figures."""
    return [
        Goal("ratio", ratio(pipeline_per_s, raw.chunks_per_s), MIN_RATIO, "at_least"),
        Goal("ratio_torch", ratio(pipeline_per_s, torch.chunks_per_s), MIN_RATIO_TORCH, "at_least"),
        Goal("worker_peak_rss_mib", round(peak_mib, 1), MAX_WORKER_PEAK_RSS_MIB, "at_most"),
    ]


def results_of(
    documents: int,
    run: PipelineRun,
    raw: RawEncode,
    torch: RawEncode,
    cpu: PipelineCpu,
    peak_mib: float,
) -> dict[str, object]:
    """``ingest.json``: the pipeline, both bare encodes, the CPU each process spent, the goals."""
    pipeline_per_s = run.chunks / run.seconds
    per_chunk = cpu.ms_per_chunk(run.chunks)
    goals = ingest_goals(pipeline_per_s, raw, torch, peak_mib)
    return {
        "documents": documents,
        "indexed": run.indexed,
        "failed": len(run.failures),
        "chunks": run.chunks,
        "recomputed_chunks": len(raw.texts),
        "pipeline_seconds": round(run.seconds, 2),
        "upload_seconds": round(run.upload_seconds, 2),
        "pipeline_chunks_per_s": round(pipeline_per_s, 2),
        "raw_encode_kind": raw.kind,
        "raw_sample_chunks": raw.sample_chunks,
        "raw_encode_chunks_per_s": round(raw.chunks_per_s, 2),
        "raw_encode_best_batch_size": raw.best_batch_size,
        "raw_encode_sample_chunks_per_s": {
            str(k): round(v, 2) for k, v in raw.by_batch_size.items()
        },
        "raw_encode_single_call_chunks_per_s": round(raw.single_call_chunks_per_s, 2),
        "raw_encode_parallel_chunks_per_s": (
            None if raw.parallel_chunks_per_s is None else round(raw.parallel_chunks_per_s, 2)
        ),
        "raw_torch_chunks_per_s": round(torch.chunks_per_s, 2),
        "raw_torch_best_batch_size": torch.best_batch_size,
        "ratio": ratio(pipeline_per_s, raw.chunks_per_s),
        "ratio_torch": ratio(pipeline_per_s, torch.chunks_per_s),
        "worker_peak_rss_mb": round(peak_mib, 1),
        "worker_peak_rss_mib": round(peak_mib, 1),
        # CPU time per chunk does not depend on what else runs on the machine: with other
        # load present, cpu_ratio says how much work the pipeline adds around the encode.
        "worker_cpu_ms_per_chunk": per_chunk["worker"],
        "raw_encode_cpu_ms_per_chunk": round(raw.cpu_ms_per_chunk, 2),
        "raw_torch_cpu_ms_per_chunk": round(torch.cpu_ms_per_chunk, 2),
        # What the front half (API, catalog bookkeeping, dispatch) costs per chunk.
        "gateway_cpu_ms_per_chunk": per_chunk["gateway"],
        # The rest of the machine during the pipeline half: the benchmark's own HTTP client
        # (uploads and job polling) and the backing services.
        "client_cpu_ms_per_chunk": per_chunk["client"],
        "postgresql_cpu_ms_per_chunk": per_chunk["postgres"],
        "rabbitmq_cpu_ms_per_chunk": per_chunk["rabbitmq"],
        "cpu_ms_per_chunk": per_chunk,
        "cpu_ratio": ratio(raw.cpu_ms_per_chunk, per_chunk["worker"]),
        "cpu_count": os.cpu_count(),
        "embedder_threads": os.environ.get("RAGLINE_EMBEDDER_THREADS", "0 (cores / lanes)"),
        "embedder_parallel_encodes": os.environ.get("RAGLINE_EMBEDDER_PARALLEL_ENCODES", "1"),
        "ingestion_embed_window": os.environ.get("RAGLINE_INGESTION_EMBED_WINDOW", "default"),
        "ingestion_concurrency": os.environ.get("RAGLINE_INGESTION_CONCURRENCY", "default"),
        "embedder_batch_size": os.environ.get("RAGLINE_EMBEDDER_BATCH_SIZE", "default"),
        "tenant_jobs_in_flight": os.environ.get(
            "RAGLINE_GATEWAY_TENANT_JOBS_IN_FLIGHT", str(JOBS_IN_FLIGHT)
        ),
        "goals": goals_object(goals),
    }


# --- main --------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=None, help="first N documents only")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--upload-concurrency", type=int, default=8)
    parser.add_argument(
        "--batch-sizes", default="16,32,64,128", help="encode batch sizes to try (bare halves)"
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
        backing_after = backing_cpu_seconds()
        cpu = PipelineCpu(
            {
                "gateway": process_cpu_seconds(gateway) - gateway_cpu_s,
                "worker": process_cpu_seconds(worker) - worker_cpu_s,
                "client": time.process_time() - client_cpu_s,
                "postgres": backing_after["postgresql"] - backing_before["postgresql"],
                "rabbitmq": backing_after["rabbitmq"] - backing_before["rabbitmq"],
            }
        )
        worker_peak_rss_mib = worker.peak_rss_mb()
        if run.failures:
            print(worker.log_tail(), file=sys.stderr)

    from ragline_common.settings import EmbedderSettings

    kind = EmbedderSettings().kind
    print(f"timing the bare {kind} encode on (at most) {RAW_SAMPLE_CHUNKS} of the same chunks ...")
    raw = raw_encode_in_child(documents, batch_sizes, kind)
    print(f"timing the bare torch encode on the same {raw.sample_chunks} chunks ...")
    torch = raw_encode_in_child(documents, batch_sizes, "torch")
    results = results_of(len(documents), run, raw, torch, cpu, worker_peak_rss_mib)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    pipeline_per_s = run.chunks / run.seconds
    print(
        f"\npipeline {pipeline_per_s:.1f} chunks/s; bare {kind} {raw.chunks_per_s:.1f} chunks/s "
        f"(batch {raw.best_batch_size}); bare torch {torch.chunks_per_s:.1f} chunks/s "
        f"(batch {torch.best_batch_size})"
    )
    for goal in ingest_goals(pipeline_per_s, raw, torch, worker_peak_rss_mib):
        print(f"  {goal.describe()}")
    for job_id, reason in list(run.failures.items())[:10]:
        print(f"failed: {job_id}: {reason}", file=sys.stderr)
    if len(raw.texts) != run.chunks:
        print(f"warning: recomputed {len(raw.texts)} chunks, the worker made {run.chunks}")
    return 1 if run.failures else 0


if __name__ == "__main__":
    sys.exit(main())
