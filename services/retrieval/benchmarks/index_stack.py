"""Ragline in one process (``ragline run --target all``) over a BEIR corpus, indexed once.

The gateway, the ingestion worker and retrieval run as in ``make run``: real HTTP, the real
upload path, queue, parser, chunker, embedder and BM25 encoder, with the embedded Qdrant Edge
store. Indexing SciFact takes minutes, so the data directory is kept under
``bench-results/.index/`` keyed by the corpus and the encoders; the evaluation and the latency
benchmark reuse it (delete the folder to re-index).

BEIR scores title and text together, so each document is uploaded as its title, a blank line
and its text.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import secrets
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from beir import BeirSet

from ragline_testing.process import RaglineProcess
from ragline_testing.public_api import send, settled_job, tenant_with_key

REPO_ROOT = Path(__file__).resolve().parents[3]
INDEX_ROOT = Path(os.environ.get("RAGLINE_BENCH_INDEX_DIR", REPO_ROOT / "bench-results" / ".index"))
"""Where indexed data directories are kept between runs (tests point it at a temporary one)."""
UPLOADS_IN_FLIGHT = 8


@dataclass
class IndexState:
    data_dir: Path
    admin_token: str
    pepper: str
    tenant_id: str = ""
    api_key: str = ""
    document_ids: dict[str, str] | None = None
    """Ragline document id -> BEIR document id."""
    chunks: int = 0
    failed: int = 0
    ingest_seconds: float = 0.0

    @property
    def indexed(self) -> bool:
        return bool(self.api_key and self.document_ids)

    def save(self) -> None:
        fields = {k: v for k, v in vars(self).items() if k != "data_dir"}
        (self.data_dir / "bench-state.json").write_text(json.dumps(fields))

    @classmethod
    def load_or_new(cls, data_dir: Path) -> IndexState:
        path = data_dir / "bench-state.json"
        if path.exists():
            return cls(data_dir=data_dir, **json.loads(path.read_text()))
        return cls(data_dir, secrets.token_urlsafe(24), secrets.token_hex(32))


def index_dir(data: BeirSet, corpus_file: Path) -> Path:
    """The data directory for ``data``: a new one whenever what indexing stores would differ.

    The key names the corpus, the encoders and the stored payload's format (the word sketch
    version): an index built before its chunks carried sketches, or with another version,
    would still answer searches but make the gateway rebuild every result's word set, so the
    benchmark would measure a slower path than a fresh install serves.
    """
    from ragline_common.adapters.sparse.bm25 import BM25_MODEL_ID
    from ragline_common.indexing.word_sets import SKETCH_VERSION
    from ragline_common.settings import EmbedderSettings

    stat = corpus_file.stat()
    key = ":".join(
        (
            str(corpus_file.resolve()),
            str(stat.st_size),
            BM25_MODEL_ID,
            EmbedderSettings().kind,
            f"sketch-{SKETCH_VERSION}",
        )
    )
    return INDEX_ROOT / f"{data.name}-{hashlib.sha256(key.encode()).hexdigest()[:12]}"


@contextmanager
def monolith(
    state: IndexState, extra_env: Mapping[str, str] | None = None
) -> Iterator[RaglineProcess]:
    state.data_dir.mkdir(parents=True, exist_ok=True)
    env = {
        "RAGLINE_DATA_DIR": str(state.data_dir),
        "RAGLINE_ADMIN_TOKEN": state.admin_token,
        "RAGLINE_GATEWAY_KEY_PEPPER": state.pepper,
        "RAGLINE_LOG_LEVEL": "warning",
        # Measuring retrieval, not the per-tenant limits.
        "RAGLINE_GATEWAY_QUERY_PER_MINUTE": "100000000",
        "RAGLINE_GATEWAY_INGEST_PER_MINUTE": "100000000",
        "RAGLINE_GATEWAY_TENANT_JOBS_IN_FLIGHT": "256",
        **(extra_env or {}),
    }
    running = RaglineProcess("all", env, state.data_dir / "ragline.log", cwd=REPO_ROOT)
    try:
        yield running.start()
    finally:
        running.stop(timeout_s=60)


async def ingest(url: str, state: IndexState, data: BeirSet) -> None:
    """Create a tenant and a key, upload every document and wait for every job."""
    async with httpx.AsyncClient(base_url=url, timeout=120) as client:
        state.tenant_id, state.api_key = await tenant_with_key(client, state.admin_token, "beir")
        client.headers["Authorization"] = f"Bearer {state.api_key}"
        slots = asyncio.Semaphore(UPLOADS_IN_FLIGHT)
        jobs: dict[str, str] = {}
        document_ids: dict[str, str] = {}
        started = time.perf_counter()

        async def upload(document_id: str, title: str, text: str) -> None:
            async with slots:
                body = {
                    "title": (title or document_id)[:500],
                    "text": f"{title}\n\n{text}" if title else text,
                    "external_id": document_id,
                }
                accepted = (await send(client, "POST", "/v1/documents", json=body)).json()
                jobs[accepted["job_id"]] = document_id
                document_ids[accepted["document_id"]] = document_id

        await asyncio.gather(*(upload(d.id, d.title, d.text) for d in data.corpus))
        for done, job_id in enumerate(list(jobs), start=1):
            job = await settled_job(client, job_id, poll_s=0.2)
            if job["status"] == "indexed":
                state.chunks += job["chunk_count"]
            else:
                state.failed += 1
            if done % 500 == 0:
                print(f"  {done}/{len(jobs)} documents indexed", flush=True)
        state.document_ids = document_ids
        state.ingest_seconds = round(time.perf_counter() - started, 1)


@contextmanager
def indexed_ragline(
    data: BeirSet, corpus_file: Path, extra_env: Mapping[str, str] | None = None
) -> Iterator[tuple[RaglineProcess, IndexState]]:
    """A running Ragline holding ``data``; indexes it first unless a previous run did."""
    state = IndexState.load_or_new(index_dir(data, corpus_file))
    with monolith(state, extra_env) as running:
        if not state.indexed:
            print(f"indexing {len(data.corpus)} documents through the gateway and worker ...")
            asyncio.run(ingest(running.url, state, data))
            state.save()
            print(f"indexed {state.chunks} chunks in {state.ingest_seconds} s")
        yield running, state
