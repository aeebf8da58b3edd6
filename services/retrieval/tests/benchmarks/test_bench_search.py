"""``make bench-search`` end to end on a tiny BEIR folder: it measures, and it reports honestly.

Runs the benchmark script as ``make bench-search`` does (real gateway, worker and embedder, a
short load phase with a few clients, then the same load on a torch build) and checks what it
wrote: every side measured on every query, no errors, ratios that are the quotients of the
medians and of the two loads' throughputs, the index's resident memory, and a goal for each.
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
    for side in ("bare", "bare_torch", "gateway_single", "gateway_single_httpx"):
        assert results[side]["requests"] == len(QUERIES)
        assert results[side]["errors"] == 0
        assert 0 < results[side]["p50_ms"] <= results[side]["p99_ms"]
    for load in (results["gateway_concurrent"], results["gateway_concurrent_torch"]):
        assert load["errors"] == 0
        assert load["clients"] == 4
        assert load["requests"] > 0
    assert results["load_errors"] == 0
    assert results["load_rps"] == results["gateway_concurrent"]["throughput_rps"]
    assert results["load_rps_torch"] == results["gateway_concurrent_torch"]["throughput_rps"]
    rps_ratio = results["load_rps"] / results["load_rps_torch"]
    assert results["load_rps_ratio_torch"] == pytest.approx(rps_ratio, abs=0.001)
    ratio = results["gateway_single"]["p50_ms"] / results["bare"]["p50_ms"]
    assert results["overhead_ratio"] == pytest.approx(ratio, abs=0.001)
    httpx_ratio = results["gateway_single_httpx"]["p50_ms"] / results["bare"]["p50_ms"]
    assert results["overhead_ratio_httpx"] == pytest.approx(httpx_ratio, abs=0.001)
    torch_ratio = results["gateway_single"]["p50_ms"] / results["bare_torch"]["p50_ms"]
    assert results["bare_torch_p50_ms"] == results["bare_torch"]["p50_ms"]
    assert results["ratio_torch"] == pytest.approx(torch_ratio, abs=0.001)
    assert results["rss_mb"] > 100  # the process holds the model and the index
    assert results["rss_mib"] >= results["rss_mb"]  # the peak while serving, at least the end
    assert results["rss_mib_torch"] > 100
    assert results["goals"]["load_errors"] is True
    assert set(results["goals"]) == {
        "overhead_ratio",
        "ratio_torch",
        "load_errors",
        "load_rps_ratio_torch",
        "rss_mib",
    }
