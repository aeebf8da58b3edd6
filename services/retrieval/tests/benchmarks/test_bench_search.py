"""``make bench-search`` end to end on a tiny BEIR folder: it measures, and it reports honestly.

Runs the benchmark script as ``make bench-search`` does (real gateway, worker and MiniLM, a short
load phase with a few clients) and checks what it wrote: both sides measured on every query,
no errors, a ratio that is the quotient of the two medians, and the index's resident memory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tiny_beir import QUERIES, write_beir

pytestmark = [pytest.mark.model, pytest.mark.e2e, pytest.mark.timeout(600)]

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_search.py"


def test_the_benchmark_measures_both_sides_and_writes_its_figures(tmp_path: Path) -> None:
    data = tmp_path / "tiny"
    write_beir(data)
    output = tmp_path / "search.json"
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "RAGLINE_BENCH_INDEX_DIR": str(tmp_path / "index"),
    }

    run = subprocess.run(
        [
            sys.executable,
            str(BENCHMARK),
            *("--data", str(data), "--output", str(output)),
            *("--seconds", "2", "--clients", "4"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=540,
        check=False,
    )

    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    results = json.loads(output.read_text())
    assert results["data"] == "tiny"
    assert results["chunks"] == 6
    for side in ("bare", "gateway_single"):
        assert results[side]["requests"] == len(QUERIES)
        assert results[side]["errors"] == 0
        assert 0 < results[side]["p50_ms"] <= results[side]["p99_ms"]
    load = results["gateway_concurrent"]
    assert load["errors"] == 0
    assert load["clients"] == 4
    assert load["requests"] > 0
    ratio = results["gateway_single"]["p50_ms"] / results["bare"]["p50_ms"]
    assert results["overhead_ratio"] == pytest.approx(ratio, abs=0.001)
    assert results["rss_mb"] > 100  # the process holds MiniLM and the index
