"""Time to first byte of a streamed answer: what the gateway adds to the model's first token.

``make bench-ttfb`` writes ``bench-results/ttfb.json``. A chat-completions server on loopback
(the same scriptable fake the tests use, on its own thread and event loop) waits
``--first-token-ms`` before its first token. Three clients measure, each ``--runs`` times after
a warm-up:

- ``direct``: the ``openai`` client straight to the model server, time to the first content
  chunk (the model's own first token as a client sees it);
- ``monolith``: ``POST /v1/query`` with ``"stream": true`` through a gateway that hosts
  generation in-process, time to the first ``delta`` event;
- ``microservices``: the same through a gateway that calls generation over HTTP (NDJSON).

``added_ms`` is a path's TTFB minus the direct TTFB (medians and p95s). ``relay_ms`` is the
time from the model server writing its first token to the client reading it, per request (one
clock: every server runs in this process); ``before_model_call_ms`` is the time from the
client's request to the model server receiving its call. The gateway path includes
authentication, rate limiting, the catalog's visibility check and prompt assembly; retrieval is
an in-process fake returning one indexed chunk, so search latency (``make bench-search``) is
not counted here.
The gate: ``added_ms`` median at most 20 ms on loopback.

Run from the repository root: ``.venv/bin/python services/generation/benchmarks/bench_ttfb.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import openai

REPO_ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO_ROOT / "services" / "gateway" / "tests" / "api"))

from gw_answer_harness import (  # noqa: E402 - the deployment harness of the gateway tests
    LLM_MODEL,
    REFUND_TEXT,
    deployment,
    tenant_with_document,
)
from gw_harness import bearer  # noqa: E402

from ragline_testing.fake_llm import FakeChatServer  # noqa: E402
from ragline_testing.harness import serve_asgi  # noqa: E402

RESULTS = REPO_ROOT / "bench-results" / "ttfb.json"
GATE_MS = 20.0
WARM_UP = 3


def _model_server_thread(llm: FakeChatServer) -> str:
    """Serve ``llm`` from its own thread and event loop; returns its base URL."""
    ready: list[str] = []
    started = threading.Event()

    async def serve() -> None:
        async with serve_asgi(llm.app()) as url:
            ready.append(url)
            started.set()
            await asyncio.Event().wait()

    threading.Thread(target=asyncio.run, args=(serve(),), daemon=True).start()
    if not started.wait(10):
        raise RuntimeError("the model server did not start")
    return ready[0]


def _summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50": round(statistics.median(ordered), 2),
        "p95": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 2),
        "min": round(ordered[0], 2),
        "max": round(ordered[-1], 2),
    }


CPU_MS: dict[str, list[float]] = {}
"""Process CPU time per request, by path: unlike wall time, not inflated by other processes."""


async def _measure(path: str, runs: int, once: Callable[[], Awaitable[float]]) -> list[float]:
    for _ in range(WARM_UP):
        await once()
    times: list[float] = []
    for _ in range(runs):
        cpu = time.process_time()
        times.append(await once())
        CPU_MS.setdefault(path, []).append((time.process_time() - cpu) * 1000)
    return times


async def _direct(llm_url: str, runs: int) -> list[float]:
    client = openai.AsyncOpenAI(base_url=f"{llm_url}/v1", api_key="bench", max_retries=0)

    async def once() -> float:
        started = time.monotonic()
        stream = await client.chat.completions.create(
            model=LLM_MODEL, messages=[{"role": "user", "content": "q"}], stream=True
        )
        async with stream:
            async for chunk in stream:
                if chunk.choices and chunk.choices[0].delta.content:
                    return (time.monotonic() - started) * 1000
        raise RuntimeError("no token")

    try:
        return await _measure("direct", runs, once)
    finally:
        await client.close()


async def _through_gateway(
    llm: FakeChatServer, llm_url: str, runs: int, *, microservices: bool
) -> tuple[list[float], list[float]]:
    relays: list[float] = []
    before_model: list[float] = []
    with tempfile.TemporaryDirectory() as data:
        async with (
            deployment(Path(data), llm_url, microservices=microservices) as stack,
            httpx.AsyncClient(base_url=stack.url, timeout=30) as client,
        ):
            tenant = await tenant_with_document(client, "bench", REFUND_TEXT)
            body = {"query": "When are refunds paid?", "top_k": 5, "stream": True}

            async def once() -> float:
                sent_before = len(llm.first_token_sent)
                arrived_before = len(llm.arrivals)
                started = time.monotonic()
                async with client.stream(
                    "POST", "/v1/query", json=body, headers=bearer(tenant.query_key)
                ) as response:
                    async for line in response.aiter_lines():
                        if line == "event: delta":
                            arrived = time.monotonic()
                            relays.append((arrived - llm.first_token_sent[sent_before]) * 1000)
                            before_model.append((llm.arrivals[arrived_before] - started) * 1000)
                            return (arrived - started) * 1000
                raise RuntimeError("no delta event")

            ttfb = await _measure("microservices" if microservices else "monolith", runs, once)
    return ttfb, relays[WARM_UP:], before_model[WARM_UP:]


async def main(runs: int, first_token_ms: float) -> int:
    llm = FakeChatServer(first_token_delay_s=first_token_ms / 1000, token_delay_s=0.002)
    llm_url = _model_server_thread(llm)
    direct = await _direct(llm_url, runs)
    report: dict[str, object] = {
        "load_average_1m_at_start": round(os.getloadavg()[0], 2),
        "cpu_count": os.cpu_count(),
        "runs": runs,
        "model_first_token_delay_ms": first_token_ms,
        "direct_ttft_ms": _summary(direct),
        "direct_cpu_ms_per_request": _summary(CPU_MS["direct"]),
        "gate_added_ms_p50": GATE_MS,
    }
    passed = True
    for mode in ("monolith", "microservices"):
        ttfb, relays, before_model = await _through_gateway(
            llm, llm_url, runs, microservices=mode == "microservices"
        )
        added = {
            "p50": round(statistics.median(ttfb) - statistics.median(direct), 2),
            "p95": round(_summary(ttfb)["p95"] - _summary(direct)["p95"], 2),
        }
        passed = passed and added["p50"] <= GATE_MS
        report[mode] = {
            "gateway_ttfb_ms": _summary(ttfb),
            "added_ms": added,
            "relay_ms": _summary(relays),
            "before_model_call_ms": _summary(before_model),
            "cpu_ms_per_request": _summary(CPU_MS[mode]),
            "added_cpu_ms_p50": round(
                statistics.median(CPU_MS[mode]) - statistics.median(CPU_MS["direct"]), 2
            ),
        }
        print(
            f"{mode:14s} ttfb p50 {statistics.median(ttfb):7.2f} ms  "
            f"added p50 {added['p50']:6.2f} ms p95 {added['p95']:6.2f} ms  "
            f"relay p50 {statistics.median(relays):5.2f} ms  "
            f"to model call p50 {statistics.median(before_model):6.2f} ms  "
            f"added CPU p50 {report[mode]['added_cpu_ms_p50']:5.2f} ms"
        )
    print(f"{'direct':14s} ttft p50 {statistics.median(direct):7.2f} ms")
    report["passed"] = passed
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {RESULTS.relative_to(REPO_ROOT)}; gate (added p50 <= {GATE_MS} ms): {passed}")
    return 0 if passed else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--first-token-ms", type=float, default=50.0)
    arguments = parser.parse_args()
    sys.exit(asyncio.run(main(arguments.runs, arguments.first_token_ms)))
