"""``make eval`` end to end on a tiny hand-made BEIR folder: real gateway, worker and MiniLM.

Starts ``ragline run --target all`` (as the harness always does), indexes six abstracts through
the API and checks the written results: every mode present, every metric a fraction, and the
easy queries answered perfectly by the lexical and fused modes.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tiny_beir import run_benchmark

pytestmark = [pytest.mark.model, pytest.mark.e2e, pytest.mark.timeout(600)]


def test_the_harness_scores_every_mode_through_the_api(tmp_path: Path) -> None:
    out = tmp_path / "out"

    run = run_benchmark("eval_beir.py", tmp_path, "--output-dir", str(out))

    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    scores = json.loads((out / "eval-tiny.json").read_text())
    assert set(scores) == {"dense", "sparse", "hybrid"}
    for values in scores.values():
        assert set(values) == {"ndcg@10", "recall@100", "mrr@10"}
        assert all(0.0 <= value <= 1.0 for value in values.values())
        assert values["recall@100"] == 1.0  # six documents: every one is in the first 100
    assert scores["sparse"]["mrr@10"] == 1.0
    assert scores["hybrid"]["mrr@10"] == 1.0
    table = (out / "eval-tiny.md").read_text()
    assert "| hybrid |" in table
