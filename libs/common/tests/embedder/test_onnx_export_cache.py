"""The export cache: keyed by the source's bytes and the recipe, published whole, made once.

Real processes and a real file system; the export itself is stood in for by a builder that
writes a file slowly, so the tests run in seconds (the real export is in test_onnx_embedder).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from ragline_common.adapters.embedder.onnx import cache


def _source(root: Path) -> Path:
    (root / "1_Pooling").mkdir(parents=True)
    (root / "model.safetensors").write_bytes(b"weights" * 100)
    (root / "config.json").write_text('{"hidden_size": 384}')
    (root / "tokenizer.json").write_text('{"model": "wordpiece"}')
    (root / "1_Pooling" / "config.json").write_text('{"pooling_mode_mean_tokens": true}')
    (root / "README.md").write_text("about the model")
    return root


@pytest.mark.parametrize(
    "changed",
    ["model.safetensors", "config.json", "tokenizer.json", "1_Pooling/config.json"],
)
def test_any_file_that_shapes_the_vectors_changes_the_key(tmp_path: Path, changed: str) -> None:
    source = _source(tmp_path / "model")
    before = cache.source_fingerprint(source)
    path = source / changed
    path.write_bytes(path.read_bytes() + b" ")
    assert cache.source_fingerprint(source) != before


def test_documentation_does_not_change_the_key(tmp_path: Path) -> None:
    source = _source(tmp_path / "model")
    before = cache.source_fingerprint(source)
    (source / "README.md").write_text("a new model card")
    assert cache.source_fingerprint(source) == before


def test_a_new_recipe_changes_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = _source(tmp_path / "model")
    before = cache.source_fingerprint(source)
    monkeypatch.setattr(cache, "RECIPE_VERSION", cache.RECIPE_VERSION + "-next")
    assert cache.source_fingerprint(source) != before


def test_the_same_bytes_elsewhere_share_the_export(tmp_path: Path) -> None:
    first, second = _source(tmp_path / "a"), _source(tmp_path / "b")
    root = tmp_path / "cache"
    assert cache.export_dir(first, root) == cache.export_dir(second, root)


def test_a_failed_build_leaves_neither_the_directory_nor_its_staging_copy(tmp_path: Path) -> None:
    final = tmp_path / "cache" / "key"

    def fail_half_way(target: Path) -> None:
        (target / "model-fp32.onnx").write_bytes(b"half")
        raise RuntimeError("export crashed")

    with pytest.raises(RuntimeError, match="export crashed"):
        cache.publish(final, fail_half_way)
    assert not final.exists()
    assert [path.name for path in final.parent.iterdir()] == ["key.lock"]


def test_an_existing_export_is_not_rebuilt(tmp_path: Path) -> None:
    final = tmp_path / "cache" / "key"

    def make(target: Path) -> None:
        (target / "made").write_text("first")

    cache.publish(final, make)

    def must_not_run(target: Path) -> None:
        raise AssertionError("rebuilt an export that exists")

    assert cache.publish(final, must_not_run) == final
    assert (final / "made").read_text() == "first"


CHILD = """
import sys, time
from pathlib import Path
from ragline_common.adapters.embedder.onnx import cache

final, log, seen, name = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4]

def slow_build(target):
    with log.open("a") as lines:
        lines.write(name + "\\n")
    for part in range(5):
        (target / f"part-{part}").write_text(name)
        time.sleep(0.2)

folder = cache.publish(final, slow_build)
# What this process found once publish returned: every part, all from one builder.
parts = sorted((folder / f"part-{part}").read_text() for part in range(5))
seen.with_name(f"{seen.name}-{name}").write_text(",".join(parts))
"""


def test_concurrent_exports_build_once_and_every_process_sees_a_whole_directory(
    tmp_path: Path,
) -> None:
    final, log, seen = tmp_path / "cache" / "key", tmp_path / "builds.log", tmp_path / "seen"
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, str(final), str(log), str(seen), f"p{index}"]
        )
        for index in range(3)
    ]
    # While the first build runs, the final name must not exist: readers never see a part.
    deadline = time.monotonic() + 60
    while not log.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert log.exists()
    assert not final.exists()
    for child in children:
        assert child.wait(timeout=120) == 0
    builders = log.read_text().split()
    assert len(builders) == 1
    for index in range(3):
        assert (tmp_path / f"seen-p{index}").read_text() == ",".join([builders[0]] * 5)
    assert not [path for path in final.parent.iterdir() if path.name.startswith(".")]
