"""The benchmarks' index cache: a kept index is reused only if a fresh one would store the same.

An index whose payloads lack the current word sketches still answers searches, just slower
(the gateway rebuilds each result's word set), so reusing it would quietly skew the latency
benchmark.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from beir import load
from index_stack import index_dir
from tiny_beir import write_beir

from ragline_common.indexing import word_sets


def test_the_index_folder_changes_with_the_payload_sketch_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_beir(tmp_path)
    data, corpus = load(tmp_path), tmp_path / "corpus.jsonl"
    current = index_dir(data, corpus)

    assert index_dir(data, corpus) == current  # stable: the same inputs reuse the index
    monkeypatch.setattr(word_sets, "SKETCH_VERSION", "w-next")
    assert index_dir(data, corpus) != current
