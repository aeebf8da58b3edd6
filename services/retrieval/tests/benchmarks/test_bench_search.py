"""``make bench-search`` end to end on a tiny BEIR folder: it measures, and it reports honestly.

Runs the benchmark script as ``make bench-search`` does (real gateway, worker and MiniLM, a short
load phase with a few clients) and checks what it wrote: both sides measured on every query,
no errors, a ratio that is the quotient of the two medians, and the index's resident memory.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tiny_beir import QUERIES, run_benchmark

pytestmark = [pytest.mark.model, pytest.mark.e2e, pytest.mark.timeout(600)]


def test_the_benchmark_measures_both_sides_and_writes_its_figures(tmp_path: Path) -> None:
    output = tmp_path / "search.json"

    run = run_benchmark(
        "bench_search.py", tmp_path, "--output", str(output), "--seconds", "2", "--clients", "4"
    )

    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    results = json.loads(output.read_text())
    assert results["data"] == "tiny"
    assert results["chunks"] == 6
    for side in ("bare", "gateway_single", "gateway_single_httpx"):
        assert results[side]["requests"] == len(QUERIES)
        assert results[side]["errors"] == 0
        assert 0 < results[side]["p50_ms"] <= results[side]["p99_ms"]
    load = results["gateway_concurrent"]
    assert load["errors"] == 0
    assert load["clients"] == 4
    assert load["requests"] > 0
    ratio = results["gateway_single"]["p50_ms"] / results["bare"]["p50_ms"]
    assert results["overhead_ratio"] == pytest.approx(ratio, abs=0.001)
    httpx_ratio = results["gateway_single_httpx"]["p50_ms"] / results["bare"]["p50_ms"]
    assert results["overhead_ratio_httpx"] == pytest.approx(httpx_ratio, abs=0.001)
    assert results["rss_mb"] > 100  # the process holds MiniLM and the index
