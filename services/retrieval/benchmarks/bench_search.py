"""Search latency and load: the bare engine against ``POST /v1/search`` through the gateway.

    .venv/bin/python services/retrieval/benchmarks/bench_search.py [--data FOLDER] [--seconds N]

In one run, over the same index (SciFact by default, indexed once by :mod:`index_stack`):

1. **single client, paired**: each judged query once through ``POST /v1/search`` (``top_k=10``,
   the default mode) of ``ragline run --target all`` over loopback, and once **bare**:
   ``embed_query`` + BM25 ``encode_query`` + ``VectorStore.search`` in this process on a copy of
   the same shard with the same settings, the cost no API can avoid. The gateway is measured
   with a lean client (:mod:`loopback_client`, as ``wrk`` would), and once more with ``httpx``
   to show what a typical Python client adds on its own side. The sides run back to back per
   query, so all see the same machine. The query-embedding cache is off: every gateway
   request embeds its query, as the bare side does.
2. **gateway, 50 clients**: 50 concurrent clients loop over the queries for ``--seconds``;
   every non-200 answer or transport error counts as an error.
3. ``rss_mb``: resident memory of the Ragline process (it holds the index) after the load.

``overhead_ratio`` = gateway single-client p50 (lean client) / bare p50;
``overhead_ratio_httpx`` is the same with the ``httpx`` figure. Writes
``bench-results/search.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
from beir import load
from index_stack import REPO_ROOT, IndexState, indexed_ragline
from loopback_client import LoopbackClient

from ragline_common.ports.vector_store import SearchMode

DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data" / "scifact"
TOP_K = 10
CONCURRENT_CLIENTS = 50


def summary(latencies_s: Sequence[float], seconds: float, errors: int) -> dict[str, Any]:
    ms = sorted(latency * 1000 for latency in latencies_s)

    def pct(p: float) -> float:
        return round(ms[min(len(ms) - 1, int(p / 100 * len(ms)))], 2)

    return {
        "requests": len(ms) + errors,
        "errors": errors,
        "p50_ms": pct(50),
        "p95_ms": pct(95),
        "p99_ms": pct(99),
        "mean_ms": round(statistics.fmean(ms), 2),
        "throughput_rps": round(len(ms) / seconds, 1),
    }


async def gateway_load(
    url: str, key: str, queries: Sequence[str], seconds: float, clients: int
) -> dict[str, Any]:
    latencies: list[float] = []
    errors = 0
    headers = {"Authorization": f"Bearer {key}"}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    deadline = time.perf_counter() + seconds

    async with httpx.AsyncClient(
        base_url=url, headers=headers, timeout=60, limits=limits
    ) as client:

        async def worker(offset: int) -> None:
            nonlocal errors
            n = offset
            while time.perf_counter() < deadline:
                t0 = time.perf_counter()
                try:
                    body = {"query": queries[n % len(queries)], "top_k": TOP_K}
                    response = await client.post("/v1/search", json=body)
                    if response.status_code == 200:
                        latencies.append(time.perf_counter() - t0)
                    else:
                        errors += 1
                except httpx.HTTPError:
                    errors += 1
                n += clients

        started = time.perf_counter()
        await asyncio.gather(*(worker(i) for i in range(clients)))
        result = summary(latencies, time.perf_counter() - started, errors)
    result["clients"] = clients
    result["seconds"] = seconds
    return result


class BareSearch:
    """The cost no API can avoid: ``embed_query`` + BM25 ``encode_query`` + ``VectorStore.search``
    in this process, on a copy of the running Ragline's shard (the embedded store allows one
    process per shard), with the same settings."""

    def __init__(self, shard_copy: Path, mode: SearchMode, tenant_id: str) -> None:
        from ragline_common.adapters.embedder.minilm import MiniLmEmbedder
        from ragline_common.adapters.sparse.bm25 import Bm25SparseEncoder
        from ragline_common.adapters.vector_store.edge import EdgeVectorStore
        from ragline_common.settings import EmbedderSettings
        from ragline_common.tenancy import TenantId
        from ragline_retrieval.settings import RetrievalSettings

        self._embedder = MiniLmEmbedder(EmbedderSettings())
        self._encoder = Bm25SparseEncoder()
        self._store = EdgeVectorStore(shard_copy, dimension=self._embedder.dimension)
        self._fusion = RetrievalSettings().fusion
        self._mode = mode
        self._tenant = TenantId(tenant_id)

    async def open(self) -> None:
        await self._embedder.warm_up()
        await self._store.open()

    async def close(self) -> None:
        await self._store.close()

    async def search(self, text: str) -> int:
        dense = await self._embedder.embed_query(text) if self._mode != "sparse" else None
        sparse = self._encoder.encode_query(text) if self._mode != "dense" else None
        hits = await self._store.search(
            self._tenant,
            mode=self._mode,
            dense=dense,
            sparse=sparse,
            limit=TOP_K,
            fusion=self._fusion,
        )
        return len(hits)


def copy_shard(state: IndexState, into: Path) -> Path:
    from ragline_common.adapters.embedder.minilm import DIMENSION, MODEL_ID
    from ragline_common.adapters.factory import edge_shard_path
    from ragline_common.settings import VectorStoreSettings

    source = edge_shard_path(
        VectorStoreSettings().resolved_path(state.data_dir), MODEL_ID, DIMENSION
    )
    return Path(shutil.copytree(source, into / source.name))


SIDES = ("bare", "gateway", "gateway_httpx")
SIDE_ORDERS = tuple(itertools.permutations(SIDES))
"""Every order of the three sides in turn, so none is always first (or always after another)."""


async def paired_single(
    url: str, key: str, queries: Sequence[str], bare: BareSearch
) -> dict[str, dict[str, Any]]:
    """Each query bare, through the gateway with :class:`LoopbackClient`, and through the
    gateway with ``httpx``, back to back, the order rotating over every permutation.

    Pairing puts all sides under the same machine conditions, so drift and noisy neighbours
    (the run takes minutes) move every figure rather than their ratio. The lean client's
    figure is the gateway's latency; the ``httpx`` one shows what a typical Python client
    adds on top (reported, not used in the ratio).
    """
    latencies: dict[str, list[float]] = {side: [] for side in SIDES}
    errors = {"gateway": 0, "gateway_httpx": 0}
    headers = {"Authorization": f"Bearer {key}"}
    await bare.open()
    async with (
        LoopbackClient(url, headers) as lean,
        httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as typical,
    ):

        async def through_gateway(side: str, text: str) -> tuple[int, bytes]:
            body = {"query": text, "top_k": TOP_K}
            if side == "gateway":
                return await lean.post_json("/v1/search", body)
            response = await typical.post("/v1/search", json=body)
            return response.status_code, response.content

        for text in queries[:20]:  # warm-up: first-call allocations are not latency
            await bare.search(text)
            for side in errors:
                await through_gateway(side, text)
        for n, text in enumerate(queries):
            for side in SIDE_ORDERS[n % len(SIDE_ORDERS)]:
                t0 = time.perf_counter()
                if side == "bare":
                    await bare.search(text)
                    latencies[side].append(time.perf_counter() - t0)
                    continue
                status, content = await through_gateway(side, text)
                elapsed = time.perf_counter() - t0
                if status == 200 and json.loads(content)["results"]:
                    latencies[side].append(elapsed)
                else:
                    errors[side] += 1
    await bare.close()
    # Throughput of each side alone: requests over the time spent in that side's calls.
    return {
        side: summary(values, sum(values), errors.get(side, 0))
        for side, values in latencies.items()
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="a BEIR folder")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the load phase")
    parser.add_argument("--clients", type=int, default=CONCURRENT_CLIENTS)
    parser.add_argument("--output", type=Path, default=REPO_ROOT / "bench-results" / "search.json")
    args = parser.parse_args()
    data = load(args.data)
    queries = list(data.queries.values())
    from ragline_retrieval.settings import RetrievalSettings

    mode = RetrievalSettings().default_mode
    # Every request embeds its query, as the bare half does.
    env = {"RAGLINE_RETRIEVAL_QUERY_CACHE_SIZE": "0"}
    with (
        indexed_ragline(data, args.data / "corpus.jsonl", env) as (running, state),
        tempfile.TemporaryDirectory(prefix="bench-search-") as scratch,
    ):
        bare = BareSearch(copy_shard(state, Path(scratch)), mode, state.tenant_id)
        print(f"gateway and bare, one client, {len(queries)} queries each ({mode}) ...")
        paired = asyncio.run(paired_single(running.url, state.api_key, queries, bare))
        single, bare_result = paired["gateway"], paired["bare"]
        for side, figures in paired.items():
            print(f"  {side:<13} {figures}", flush=True)
        print(f"gateway, {args.clients} clients for {args.seconds:g} s ...", flush=True)
        load_result = asyncio.run(
            gateway_load(running.url, state.api_key, queries, args.seconds, args.clients)
        )
        print(f"  {load_result}", flush=True)
        rss_mb = round(running.rss_mb(), 1)
    results = {
        "data": data.name,
        "chunks": state.chunks,
        "mode": mode,
        "top_k": TOP_K,
        "bare": bare_result,
        "gateway_single": single,
        "gateway_single_httpx": paired["gateway_httpx"],
        "gateway_concurrent": load_result,
        "overhead_ratio": round(single["p50_ms"] / bare_result["p50_ms"], 3),
        "overhead_ratio_httpx": round(paired["gateway_httpx"]["p50_ms"] / bare_result["p50_ms"], 3),
        "rss_mb": rss_mb,
        "cpu_count": os.cpu_count(),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    print(
        f"\noverhead_ratio {results['overhead_ratio']} (goal <= 1.3; with httpx "
        f"{results['overhead_ratio_httpx']}); errors under load "
        f"{load_result['errors']} (goal 0); rss {rss_mb} MiB"
    )
    failed = load_result["errors"] or single["errors"] or paired["gateway_httpx"]["errors"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
