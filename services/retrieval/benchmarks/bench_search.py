"""Search latency and load: the bare engine (default and torch) against ``POST /v1/search``.

    .venv/bin/python services/retrieval/benchmarks/bench_search.py [--data FOLDER] [--seconds N]

In one run, over the same index (SciFact by default, indexed once by :mod:`index_stack`):

1. **single client, paired**: each judged query once through ``POST /v1/search`` (``top_k=10``,
   the default mode) of ``ragline run --target all`` over loopback, and twice **bare**:
   ``embed_query`` + BM25 ``encode_query`` + ``VectorStore.search`` in this process on a copy of
   the same shard with the same settings, the cost no API can avoid, once with the configured
   embedder (``bare``, int8 ONNX by default) and once with torch (``bare_torch``, the old
   path). The gateway is measured with a lean client (:mod:`loopback_client`, as ``wrk`` would),
   and once more with ``httpx`` to show what a typical Python client adds on its own side. The
   sides run back to back per query, so all see the same machine. The query-embedding cache is
   off: every gateway request embeds its query, as the bare sides do.
2. **gateway, 50 clients**: 50 concurrent clients loop over the queries for ``--seconds``;
   every non-200 answer or transport error counts as an error, by kind (``error_kinds``:
   ``HTTP 503``, ``ConnectError``, ...; ``load_error_kinds`` in the results).
3. ``rss_mib``: the peak resident memory (``VmHWM``) of the Ragline process holding the index
   during 1 and 2 (reset after indexing, if this run indexed); ``rss_mb``: its resident memory
   after the load.
4. **torch build, 50 clients**: the same Ragline restarted on the same index with
   ``RAGLINE_EMBEDDER_KIND=torch``, and the same load (``load_rps_torch``).

``overhead_ratio`` = gateway single-client p50 (lean client) / bare p50 (goal <= 1.3);
``ratio_torch`` = the same over bare torch p50 (goal <= 0.6); ``overhead_ratio_httpx`` is the
first with the ``httpx`` figure. Under load: 0 errors and at least twice the torch build's
requests/s; ``rss_mib`` <= 450. Writes ``bench-results/search.json`` with a ``goals`` object
(goal -> holds); exits 1 on any error.
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
from collections import Counter
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

import httpx
from beir import load
from bench_goals import Goal, goals_object, process_mib, ratio, reset_peak_rss
from index_stack import REPO_ROOT, IndexState, indexed_ragline, monolith
from loopback_client import LoopbackClient

from ragline_common.ports.vector_store import SearchMode
from ragline_testing.process import RaglineProcess

DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data" / "scifact"
TOP_K = 10
CONCURRENT_CLIENTS = 50
MAX_OVERHEAD_RATIO = 1.3
MAX_RATIO_TORCH = 0.6
MIN_LOAD_RPS_RATIO_TORCH = 2.0
MAX_RSS_MIB = 450.0
WARM_UP_QUERIES = 20


def summary(latencies_s: Sequence[float], seconds: float, errors: int) -> dict[str, Any]:
    """Counts and latency figures; the figures are None when no request succeeded (a run
    where everything failed still reports its errors)."""
    ms = sorted(latency * 1000 for latency in latencies_s)

    def pct(p: float) -> float | None:
        return round(ms[min(len(ms) - 1, int(p / 100 * len(ms)))], 2) if ms else None

    return {
        "requests": len(ms) + errors,
        "errors": errors,
        "p50_ms": pct(50),
        "p95_ms": pct(95),
        "p99_ms": pct(99),
        "mean_ms": round(statistics.fmean(ms), 2) if ms else None,
        "throughput_rps": round(len(ms) / seconds, 1) if seconds else 0.0,
    }


async def gateway_load(
    url: str, key: str, queries: Sequence[str], seconds: float, clients: int
) -> dict[str, Any]:
    latencies: list[float] = []
    error_kinds: Counter[str] = Counter()
    """What each failure was (``HTTP 503``, an exception class), so an error count says why."""
    headers = {"Authorization": f"Bearer {key}"}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    deadline = time.perf_counter() + seconds

    async with httpx.AsyncClient(
        base_url=url, headers=headers, timeout=60, limits=limits
    ) as client:

        async def worker(offset: int) -> None:
            n = offset
            while time.perf_counter() < deadline:
                t0 = time.perf_counter()
                try:
                    body = {"query": queries[n % len(queries)], "top_k": TOP_K}
                    response = await client.post("/v1/search", json=body)
                    if response.status_code == 200:
                        latencies.append(time.perf_counter() - t0)
                    else:
                        error_kinds[f"HTTP {response.status_code}"] += 1
                except httpx.HTTPError as error:
                    error_kinds[type(error).__name__] += 1
                n += clients

        started = time.perf_counter()
        await asyncio.gather(*(worker(i) for i in range(clients)))
        result = summary(latencies, time.perf_counter() - started, error_kinds.total())
    result["error_kinds"] = dict(error_kinds.most_common())
    result["clients"] = clients
    result["seconds"] = seconds
    return result


class BareSearch:
    """The cost no API can avoid: ``embed_query`` + BM25 ``encode_query`` + ``VectorStore.search``
    in this process, on a copy of the running Ragline's shard (the embedded store allows one
    process per shard), with the same settings; once per local embedder ``kinds`` names (their
    vectors share one collection, so one index serves them all)."""

    def __init__(
        self, shard_copy: Path, mode: SearchMode, tenant_id: str, kinds: Collection[str]
    ) -> None:
        from ragline_common.adapters.embedder.model_dir import DIMENSION
        from ragline_common.adapters.embedder.selection import local_embedder
        from ragline_common.adapters.sparse.bm25 import Bm25SparseEncoder
        from ragline_common.adapters.vector_store.edge import EdgeVectorStore
        from ragline_common.settings import EmbedderSettings
        from ragline_common.tenancy import TenantId
        from ragline_retrieval.settings import RetrievalSettings

        settings = EmbedderSettings()
        self._embedders = {
            kind: local_embedder(settings.model_copy(update={"kind": kind})) for kind in kinds
        }
        self._encoder = Bm25SparseEncoder()
        self._store = EdgeVectorStore(shard_copy, dimension=DIMENSION)
        self._fusion = RetrievalSettings().fusion
        self._mode = mode
        self._tenant = TenantId(tenant_id)

    async def open(self) -> None:
        for embedder in self._embedders.values():
            await embedder.warm_up()
        await self._store.open()

    async def close(self) -> None:
        await self._store.close()

    async def search(self, text: str, kind: str) -> int:
        embedder = self._embedders[kind]
        dense = await embedder.embed_query(text) if self._mode != "sparse" else None
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
    from ragline_common.adapters.embedder.model_dir import DIMENSION, MODEL_ID
    from ragline_common.adapters.factory import edge_shard_path
    from ragline_common.settings import VectorStoreSettings

    source = edge_shard_path(
        VectorStoreSettings().resolved_path(state.data_dir), MODEL_ID, DIMENSION
    )
    return Path(shutil.copytree(source, into / source.name))


SIDES = ("bare", "bare_torch", "gateway", "gateway_httpx")
SIDE_ORDERS = tuple(itertools.permutations(SIDES))
"""Every order of the four sides in turn, so none is always first (or always after another)."""
BARE_KINDS = {"bare": None, "bare_torch": "torch"}
"""The bare sides and their embedder kind (None: the configured one)."""


async def paired_single(
    url: str, key: str, queries: Sequence[str], bare: BareSearch, default_kind: str
) -> dict[str, dict[str, Any]]:
    """Each query bare (default embedder and torch), through the gateway with
    :class:`LoopbackClient`, and through the gateway with ``httpx``, back to back, the order
    rotating over every permutation.

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

        kinds = {side: kind or default_kind for side, kind in BARE_KINDS.items()}
        for text in queries[:WARM_UP_QUERIES]:  # first-call allocations are not latency
            for kind in kinds.values():
                await bare.search(text, kind)
            for side in errors:
                await through_gateway(side, text)
        for n, text in enumerate(queries):
            for side in SIDE_ORDERS[n % len(SIDE_ORDERS)]:
                t0 = time.perf_counter()
                if side in kinds:
                    await bare.search(text, kinds[side])
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


def search_goals(results: dict[str, Any]) -> list[Goal]:
    """Issue 15's goals for this benchmark, from this run's figures."""
    return [
        Goal("overhead_ratio", results["overhead_ratio"], MAX_OVERHEAD_RATIO, "at_most"),
        Goal("ratio_torch", results["ratio_torch"], MAX_RATIO_TORCH, "at_most"),
        Goal("load_errors", results["load_errors"], 0, "at_most"),
        Goal(
            "load_rps_ratio_torch",
            results["load_rps_ratio_torch"],
            MIN_LOAD_RPS_RATIO_TORCH,
            "at_least",
        ),
        Goal("rss_mib", results["rss_mib"], MAX_RSS_MIB, "at_most"),
    ]


def torch_build_load(
    state: IndexState, env: dict[str, str], queries: Sequence[str], seconds: float, clients: int
) -> tuple[dict[str, Any], float]:
    """The same load on the same index served by a torch build; its result and peak RSS."""
    with monolith(state, {**env, "RAGLINE_EMBEDDER_KIND": "torch"}) as running:
        asyncio.run(gateway_load(running.url, state.api_key, queries[:WARM_UP_QUERIES], 2, 1))
        result = asyncio.run(gateway_load(running.url, state.api_key, queries, seconds, clients))
        return result, process_mib(pid_of(running), "VmHWM")


def pid_of(running: RaglineProcess) -> int:
    if running.process is None:
        raise RuntimeError("the Ragline process is not running")
    return running.process.pid


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="a BEIR folder")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each load phase")
    parser.add_argument("--clients", type=int, default=CONCURRENT_CLIENTS)
    parser.add_argument("--output", type=Path, default=REPO_ROOT / "bench-results" / "search.json")
    args = parser.parse_args()
    data = load(args.data)
    queries = list(data.queries.values())
    from ragline_common.settings import EmbedderSettings
    from ragline_retrieval.settings import RetrievalSettings

    mode = RetrievalSettings().default_mode
    kind = EmbedderSettings().kind
    # Every request embeds its query, as the bare half does.
    env = {"RAGLINE_RETRIEVAL_QUERY_CACHE_SIZE": "0"}
    with (
        indexed_ragline(data, args.data / "corpus.jsonl", env) as (running, state),
        tempfile.TemporaryDirectory(prefix="bench-search-") as scratch,
    ):
        # The peak of serving, not of indexing (when this run indexed in the same process).
        peak_reset = reset_peak_rss(pid_of(running))
        bare = BareSearch(copy_shard(state, Path(scratch)), mode, state.tenant_id, {kind, "torch"})
        print(f"gateway and bare ({kind}, torch), one client, {len(queries)} queries ({mode}) ...")
        paired = asyncio.run(paired_single(running.url, state.api_key, queries, bare, kind))
        single, bare_result = paired["gateway"], paired["bare"]
        for side, figures in paired.items():
            print(f"  {side:<13} {figures}", flush=True)
        print(f"gateway, {args.clients} clients for {args.seconds:g} s ...", flush=True)
        load_result = asyncio.run(
            gateway_load(running.url, state.api_key, queries, args.seconds, args.clients)
        )
        print(f"  {load_result}", flush=True)
        rss_mb = round(running.rss_mb(), 1)
        rss_mib = round(process_mib(pid_of(running), "VmHWM"), 1)
    print(f"torch build, {args.clients} clients for {args.seconds:g} s ...", flush=True)
    torch_load, torch_peak_mib = torch_build_load(state, env, queries, args.seconds, args.clients)
    print(f"  {torch_load}", flush=True)
    bare_torch = paired["bare_torch"]
    results: dict[str, Any] = {
        "data": data.name,
        "chunks": state.chunks,
        "mode": mode,
        "embedder_kind": kind,
        "top_k": TOP_K,
        "bare": bare_result,
        "bare_torch": bare_torch,
        "gateway_single": single,
        "gateway_single_httpx": paired["gateway_httpx"],
        "gateway_concurrent": load_result,
        "gateway_concurrent_torch": torch_load,
        "overhead_ratio": ratio(single["p50_ms"], bare_result["p50_ms"]),
        "overhead_ratio_httpx": ratio(paired["gateway_httpx"]["p50_ms"], bare_result["p50_ms"]),
        "bare_torch_p50_ms": bare_torch["p50_ms"],
        "ratio_torch": ratio(single["p50_ms"], bare_torch["p50_ms"]),
        "load_rps": load_result["throughput_rps"],
        "load_rps_torch": torch_load["throughput_rps"],
        "load_rps_ratio_torch": ratio(load_result["throughput_rps"], torch_load["throughput_rps"]),
        "load_errors": load_result["errors"],
        "load_error_kinds": load_result["error_kinds"],
        "rss_mb": rss_mb,
        "rss_mib": rss_mib,
        "rss_mib_is_serving_peak": peak_reset,
        "rss_mib_torch": round(torch_peak_mib, 1),
        "cpu_count": os.cpu_count(),
    }
    goals = search_goals(results)
    results["goals"] = goals_object(goals)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    print(f"\noverhead_ratio_httpx {results['overhead_ratio_httpx']}; rss now {rss_mb} MiB")
    for goal in goals:
        print(f"  {goal.describe()}")
    failed = (
        load_result["errors"]
        or single["errors"]
        or paired["gateway_httpx"]["errors"]
        or torch_load["errors"]
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
