"""The ONNX backends on the real all-MiniLM-L6-v2: exported once for this module (in a child
process, as a service's first start does), compared with torch on real SciFact abstracts,
refused when the export is damaged, and free of torch in a serving process."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import numpy as np
import pytest

from ragline_common.adapters.embedder.minilm import MiniLmEmbedder
from ragline_common.adapters.embedder.model_dir import default_model_path
from ragline_common.adapters.embedder.onnx import export, reference, runtime
from ragline_common.adapters.embedder.onnx.cache import ensure_exported
from ragline_common.adapters.embedder.onnx.export import FP32_FILE, INT8_FILE
from ragline_common.adapters.embedder.onnx.reference import EmbedderVerificationFailed
from ragline_common.adapters.embedder.onnx.runtime import MIN_COSINE, OnnxEmbedder, Precision
from ragline_common.adapters.embedder.onnx.verified import STAMP_SUFFIX, stamp_path
from ragline_common.adapters.embedder.selection import local_embedder
from ragline_common.settings import EmbedderKind, EmbedderSettings

pytestmark = pytest.mark.model

SCIFACT = Path(__file__).resolve().parents[4].parent / "shared" / "data" / "scifact"
REAL_TEXTS = 96


@pytest.fixture(scope="module")
def cache_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("onnx-cache")
    ensure_exported(default_model_path(), root)
    return root


@pytest.fixture(scope="module")
def scifact_texts() -> list[str]:
    corpus = SCIFACT / "corpus.jsonl"
    if not corpus.is_file():
        pytest.skip(f"SciFact not found at {SCIFACT} (expected beside the repo)")
    texts = []
    with corpus.open(encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            texts.append(f"{record['title']}\n{record['text']}")
            if len(texts) == REAL_TEXTS:
                break
    return texts


@pytest.fixture(scope="module")
def torch_vectors(scifact_texts: list[str]) -> np.ndarray:
    embedder = MiniLmEmbedder(EmbedderSettings(kind="torch"))
    anyio.run(embedder.warm_up)
    return np.asarray(anyio.run(embedder.embed_documents, scifact_texts))


def _warm(settings: EmbedderSettings) -> OnnxEmbedder:
    embedder = local_embedder(settings)
    assert isinstance(embedder, OnnxEmbedder)
    anyio.run(embedder.warm_up)
    return embedder


@pytest.mark.parametrize(
    ("kind", "precision"), [("onnx-int8", Precision.INT8), ("onnx", Precision.FP32)]
)
def test_vectors_match_torch_on_real_abstracts(
    cache_root: Path,
    scifact_texts: list[str],
    torch_vectors: np.ndarray,
    kind: EmbedderKind,
    precision: Precision,
) -> None:
    embedder = _warm(EmbedderSettings(kind=kind, cache_dir=cache_root))
    vectors = np.asarray(anyio.run(embedder.embed_documents, scifact_texts))
    assert vectors.shape == (REAL_TEXTS, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-4)
    cosines = (vectors * torch_vectors).sum(axis=1)
    assert cosines.min() >= MIN_COSINE[precision]


def test_model_id_and_dimension_are_the_torch_backends(cache_root: Path) -> None:
    onnx = OnnxEmbedder(EmbedderSettings(cache_dir=cache_root), Precision.INT8)
    torch = MiniLmEmbedder(EmbedderSettings())
    assert (onnx.model_id, onnx.dimension) == (torch.model_id, torch.dimension)


async def test_embedding_before_warm_up_is_a_clear_error(cache_root: Path) -> None:
    cold = OnnxEmbedder(EmbedderSettings(cache_dir=cache_root), Precision.INT8)
    with pytest.raises(RuntimeError, match="warm_up"):
        await cold.embed_query("hello")
    with pytest.raises(RuntimeError, match="warm_up"):
        cold.count_tokens("hello")


def test_tokens_are_counted_as_the_torch_backend_counts_them(
    cache_root: Path, scifact_texts: list[str]
) -> None:
    onnx = _warm(EmbedderSettings(kind="onnx-int8", cache_dir=cache_root))
    torch = MiniLmEmbedder(EmbedderSettings())
    anyio.run(torch.warm_up)
    long_text = " ".join(scifact_texts[:4])  # past 256 tokens: counting never truncates
    for text in [*scifact_texts[:8], long_text, "ünïcödé – dashes"]:
        assert onnx.count_tokens(text) == torch.count_tokens(text)
    assert onnx.count_tokens(long_text) > 256


def test_a_query_gets_the_vector_its_text_gets_as_a_document(cache_root: Path) -> None:
    embedder = _warm(EmbedderSettings(kind="onnx", cache_dir=cache_root))
    text = "How do mitochondria produce ATP?"
    query = anyio.run(embedder.embed_query, text)
    documents = anyio.run(embedder.embed_documents, [text, "a much longer text " * 20])
    assert math.isclose(float(np.dot(query, documents[0])), 1.0, rel_tol=1e-5)


def _anonymous_mib() -> float:
    status = Path("/proc/self/status").read_text()
    kib = next(line.split()[1] for line in status.splitlines() if line.startswith("RssAnon:"))
    return int(kib) / 1024


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")
def test_released_memory_goes_back_to_the_system_and_encoding_still_agrees(
    cache_root: Path, scifact_texts: list[str]
) -> None:
    embedder = _warm(EmbedderSettings(kind="onnx-int8", cache_dir=cache_root, batch_size=16))
    # 16 abstracts, each past the 256-token limit: the worker's largest batch.
    longest = sorted(scifact_texts, key=len)[-16:]
    before = anyio.run(embedder.embed_documents, longest)
    grown = _anonymous_mib()
    anyio.run(embedder.release_memory)
    released = _anonymous_mib()
    # The arena of such a batch is ~250 MiB (attention scores of 12 heads x 256 x 256 each).
    assert grown - released > 100
    after = anyio.run(embedder.embed_documents, longest)
    np.testing.assert_allclose(after, before, atol=1e-6)


def _damage_int8_weights(folder: Path) -> None:
    """Shuffle the rows of the token embedding table: a valid file with wrong weights."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(folder / INT8_FILE))
    table = max(model.graph.initializer, key=lambda tensor: math.prod(tensor.dims))
    values = numpy_helper.to_array(table)
    shuffled = values[np.random.default_rng(0).permutation(values.shape[0])]
    table.CopyFrom(numpy_helper.from_array(shuffled, table.name))
    onnx.save(model, str(folder / INT8_FILE))


def test_a_checked_export_is_not_checked_again(
    cache_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The export (a child process here, as at a first start) checked and stamped the files.
    exported = ensure_exported(default_model_path(), cache_root)
    assert stamp_path(exported / INT8_FILE).is_file()

    def sample_embedded_again(*args: object, **kwargs: object) -> None:
        raise AssertionError("the reference sample was embedded again")

    monkeypatch.setattr(runtime, "verify_against_reference", sample_embedded_again)
    embedder = _warm(EmbedderSettings(kind="onnx-int8", cache_dir=cache_root))
    assert len(anyio.run(embedder.embed_query, "still serves")) == 384


def test_the_export_command_checks_both_files_so_the_first_start_need_not(
    cache_root: Path, tmp_path: Path
) -> None:
    exported = ensure_exported(default_model_path(), cache_root)
    unchecked = tmp_path / "cache" / exported.name
    shutil.copytree(exported, unchecked, ignore=shutil.ignore_patterns(f"*{STAMP_SUFFIX}"))
    arguments = ["--model-path", str(default_model_path()), "--cache-dir", str(unchecked.parent)]
    assert export.main(arguments) == 0
    assert stamp_path(unchecked / INT8_FILE).is_file()
    assert stamp_path(unchecked / FP32_FILE).is_file()


def test_a_serving_process_checks_an_unstamped_export_and_writes_nothing(
    cache_root: Path, tmp_path: Path
) -> None:
    exported = ensure_exported(default_model_path(), cache_root)
    unstamped = tmp_path / "cache" / exported.name
    shutil.copytree(exported, unstamped, ignore=shutil.ignore_patterns(f"*{STAMP_SUFFIX}"))
    before = sorted(path.name for path in unstamped.iterdir())
    checks: list[float] = []
    real_check = reference.verify_against_reference

    def counted(*args: Any, **kwargs: Any) -> Any:
        checks.append(kwargs["threshold"])
        return real_check(*args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(runtime, "verify_against_reference", counted)
        _warm(EmbedderSettings(kind="onnx-int8", cache_dir=unstamped.parent))
        _warm(EmbedderSettings(kind="onnx-int8", cache_dir=unstamped.parent))
    assert checks == [MIN_COSINE[Precision.INT8]] * 2
    assert sorted(path.name for path in unstamped.iterdir()) == before


def test_a_damaged_export_stops_the_start_with_the_remedy(cache_root: Path, tmp_path: Path) -> None:
    exported = ensure_exported(default_model_path(), cache_root)
    damaged_root = tmp_path / "cache"
    shutil.copytree(exported, damaged_root / exported.name)
    # Damaged after its check: the stamp of the good bytes comes along and must not pass it.
    assert stamp_path(damaged_root / exported.name / INT8_FILE).is_file()
    _damage_int8_weights(damaged_root / exported.name)
    embedder = OnnxEmbedder(EmbedderSettings(cache_dir=damaged_root), Precision.INT8)
    with pytest.raises(EmbedderVerificationFailed, match=r"RAGLINE_EMBEDDER_KIND=onnx \(fp32\)"):
        anyio.run(embedder.warm_up)
    with pytest.raises(RuntimeError, match="warm_up"):
        embedder.count_tokens("a model that failed its check never serves")


NO_TORCH_PROBE = """
import asyncio, json, sys
from ragline_common.adapters.embedder.selection import local_embedder
from ragline_common.settings import EmbedderKind, EmbedderSettings

async def main():
    embedder = local_embedder(EmbedderSettings())
    await embedder.warm_up()
    vectors = await embedder.embed_documents(["first text", "second text"])
    query = await embedder.embed_query("a question")
    heavy = [name for name in ("torch", "transformers", "sentence_transformers")
             if name in sys.modules]
    print(json.dumps({"type": type(embedder).__name__, "vectors": len(vectors),
                      "dimension": len(query), "heavy": heavy}))

asyncio.run(main())
"""


def test_a_process_embedding_with_onnx_int8_never_imports_torch(cache_root: Path) -> None:
    env = {
        **os.environ,
        "RAGLINE_EMBEDDER_KIND": "onnx-int8",
        "RAGLINE_EMBEDDER_CACHE_DIR": str(cache_root),
    }
    result = subprocess.run(
        [sys.executable, "-c", NO_TORCH_PROBE],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report == {"type": "OnnxEmbedder", "vectors": 2, "dimension": 384, "heavy": []}
