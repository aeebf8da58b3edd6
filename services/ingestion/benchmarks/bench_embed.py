"""Every local embedding backend on the same SciFact chunks: speed, retrieval quality, agreement.

    .venv/bin/python services/ingestion/benchmarks/bench_embed.py [--docs N] [--batch-sizes ...]

The chunks are those the worker would index (the ingestion parser and chunker with its
settings) for a fixed subset of SciFact: every document some test query is judged against,
then corpus order up to ``--docs`` documents (all 5,183 with ``--docs 0``). For each backend,
at the batch size that is fastest for it on a sample:

- ``chunks_per_s``: the bare encode of every chunk, sorted by length as sentence-transformers
  sorts (no event loop, no batcher);
- ``ndcg@10``: dense retrieval with that backend's own chunk and query vectors (exact cosine
  over the subset, each document ranked by its best chunk; BEIR's metric);
- ``cosine_min`` / ``cosine_mean``: each chunk's vector against torch's.

Backends: ``torch`` (sentence-transformers, the reference), ``onnx`` (fp32) and ``onnx-int8``
through onnxruntime, ``openvino-int8`` (OpenVINO's CPU runtime on the same int8 file). Writes
``bench-results/embed.json`` (``{backend: {chunks_per_s, ndcg@10, cosine_min, cosine_mean,
batch_size}}``) and ``embed.md``. The figures are only comparable within one run: a run on a
machine shared with other work is slower throughout, and says so in its load average.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[3]
# The BEIR loader and metrics of the retrieval benchmarks, shared rather than copied.
sys.path.insert(0, str(REPO_ROOT / "services" / "retrieval" / "benchmarks"))

from bare_encode import chunk_texts  # noqa: E402
from beir import BeirSet, documents_ranked, evaluate, load  # noqa: E402

DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data" / "scifact"
DEFAULT_OUTPUT = REPO_ROOT / "bench-results"
SAMPLE_CHUNKS = 128
TOP_K = 100
Encode = Callable[[list[str]], np.ndarray]


@dataclass(frozen=True)
class Chunk:
    document_id: str
    text: str


@dataclass(frozen=True)
class Result:
    chunks_per_s: float
    ndcg_at_10: float
    cosine_min: float
    cosine_mean: float
    batch_size: int
    by_batch_size: dict[int, float]


def subset(data: BeirSet, docs: int) -> BeirSet:
    """Every judged document, then corpus order, up to ``docs`` documents (0: all)."""
    if docs <= 0:
        return data
    judged = {doc for judgements in data.qrels.values() for doc in judgements}
    chosen = [document for document in data.corpus if document.id in judged]
    for document in data.corpus:
        if len(chosen) >= max(docs, len(judged)):
            break
        if document.id not in judged:
            chosen.append(document)
    return BeirSet(data.name, chosen, data.queries, data.qrels)


class TokenCounter:
    """The model's word pieces, as every backend counts them (chunk sizes are in these)."""

    def __init__(self, model_path: Path) -> None:
        from ragline_common.adapters.embedder.model_dir import read_sentence_model_config
        from ragline_common.adapters.embedder.onnx.encoder import sentence_tokenizers

        config = read_sentence_model_config(model_path)
        self._counter = sentence_tokenizers(model_path, config)[1]

    def count_tokens(self, text: str) -> int:
        return len(self._counter.encode(text, add_special_tokens=False).ids)


def chunks_of(data: BeirSet, counter: TokenCounter) -> list[Chunk]:
    """The worker's chunks of each document (title and abstract, as uploaded)."""

    @dataclass(frozen=True)
    class Upload:
        text: str

    chunks: list[Chunk] = []
    for document in data.corpus:
        texts = chunk_texts([Upload(f"{document.title}\n\n{document.text}")], counter)
        chunks.extend(Chunk(document.id, text) for text in texts)
    return chunks


def encode_sorted(encode: Encode, texts: Sequence[str], batch_size: int) -> np.ndarray:
    """All ``texts`` in batches of similar length (longest first), vectors in input order."""
    order = sorted(range(len(texts)), key=lambda index: -len(texts[index]))
    vectors: list[np.ndarray] = [np.empty(0)] * len(texts)
    for start in range(0, len(order), batch_size):
        batch = order[start : start + batch_size]
        for index, vector in zip(batch, encode([texts[i] for i in batch]), strict=True):
            vectors[index] = vector
    return np.stack(vectors).astype(np.float32)


def timed(encode: Encode, texts: Sequence[str], batch_size: int) -> tuple[np.ndarray, float]:
    started = time.perf_counter()
    vectors = encode_sorted(encode, texts, batch_size)
    return vectors, len(texts) / (time.perf_counter() - started)


def dense_ndcg(
    data: BeirSet, chunks: Sequence[Chunk], chunk_vectors: np.ndarray, query_vectors: np.ndarray
) -> float:
    rankings = {}
    for query_id, query_vector in zip(data.queries, query_vectors, strict=True):
        scores = chunk_vectors @ query_vector
        best = np.argsort(-scores)[: TOP_K * 4]
        ranked = documents_ranked([chunks[index].document_id for index in best])
        rankings[query_id] = ranked[:TOP_K]
    return float(evaluate(rankings, data.qrels)["ndcg@10"])


def measure(
    encode: Encode,
    data: BeirSet,
    chunks: Sequence[Chunk],
    batch_sizes: Sequence[int],
    reference: np.ndarray | None,
) -> tuple[Result, np.ndarray]:
    texts = [chunk.text for chunk in chunks]
    sample = random.Random(0).sample(texts, min(SAMPLE_CHUNKS, len(texts)))  # noqa: S311
    encode_sorted(encode, sample[:32], 32)  # first-call allocations are not throughput
    by_size = {size: timed(encode, sample, size)[1] for size in batch_sizes}
    best = max(by_size, key=lambda size: by_size[size])
    vectors, chunks_per_s = timed(encode, texts, best)
    queries = encode_sorted(encode, list(data.queries.values()), best)
    cosines = (vectors * (reference if reference is not None else vectors)).sum(axis=1)
    result = Result(
        chunks_per_s=round(chunks_per_s, 2),
        ndcg_at_10=dense_ndcg(data, chunks, vectors, queries),
        cosine_min=round(float(cosines.min()), 5),
        cosine_mean=round(float(cosines.mean()), 5),
        batch_size=best,
        by_batch_size={size: round(rate, 2) for size, rate in by_size.items()},
    )
    return result, vectors


# --- backends: each returns an encode function over one batch ---------------------------------


def torch_backend(model_path: Path) -> Encode:
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(model_path), device="cpu", local_files_only=True)

    def encode(texts: list[str]) -> np.ndarray:
        return np.asarray(
            model.encode(texts, batch_size=len(texts), normalize_embeddings=True),
            dtype=np.float32,
        )

    return encode


def onnx_backend(onnx_file: Path, model_path: Path, threads: int) -> Encode:
    from ragline_common.adapters.embedder.model_dir import read_sentence_model_config
    from ragline_common.adapters.embedder.onnx.encoder import OnnxSentenceEncoder

    config = read_sentence_model_config(model_path)
    return OnnxSentenceEncoder.open(onnx_file, model_path, config, threads=threads).encode


class _OpenVinoSession:
    """An OpenVINO compiled model behind the two onnxruntime calls the encoder makes."""

    @dataclass(frozen=True)
    class _Input:
        name: str

    def __init__(self, onnx_file: Path, threads: int) -> None:
        import openvino

        core = openvino.Core()
        self._compiled = core.compile_model(
            core.read_model(str(onnx_file)),
            "CPU",
            {"INFERENCE_NUM_THREADS": threads, "PERFORMANCE_HINT": "LATENCY"},
        )
        self._request = self._compiled.create_infer_request()

    def get_inputs(self) -> list[_OpenVinoSession._Input]:
        return [self._Input(port.get_any_name()) for port in self._compiled.inputs]

    def run(self, _outputs: list[str], feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        result = self._request.infer(feeds)
        return [np.asarray(result[self._compiled.outputs[0]], dtype=np.float32)]


def openvino_backend(onnx_file: Path, model_path: Path, threads: int) -> Encode:
    from ragline_common.adapters.embedder.model_dir import read_sentence_model_config
    from ragline_common.adapters.embedder.onnx.encoder import (
        OnnxSentenceEncoder,
        sentence_tokenizers,
    )

    config = read_sentence_model_config(model_path)
    tokenizer, counter = sentence_tokenizers(model_path, config)
    session = _OpenVinoSession(onnx_file, threads)
    return OnnxSentenceEncoder(session, tokenizer, counter, config).encode


def markdown(results: dict[str, Result], notes: Sequence[str]) -> str:
    lines = [
        "# Local embedding backends on SciFact chunks",
        "",
        "| backend | chunks/s | x torch | nDCG@10 | cosine min | cosine mean | batch |",
        "|---|---|---|---|---|---|---|",
    ]
    torch_rate = results["torch"].chunks_per_s
    for name, result in results.items():
        lines.append(
            f"| {name} | {result.chunks_per_s:.1f} | {result.chunks_per_s / torch_rate:.2f} | "
            f"{result.ndcg_at_10:.4f} | {result.cosine_min:.4f} | {result.cosine_mean:.4f} | "
            f"{result.batch_size} |"
        )
    return "\n".join([*lines, "", *notes, ""])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="a BEIR folder")
    parser.add_argument("--docs", type=int, default=1000, help="documents in the subset (0: all)")
    parser.add_argument("--batch-sizes", default="8,16,32")
    parser.add_argument("--output-dir", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args()
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

    from ragline_common.adapters.embedder.model_dir import default_model_path
    from ragline_common.adapters.embedder.onnx.cache import ensure_exported
    from ragline_common.adapters.embedder.onnx.export import FP32_FILE, INT8_FILE
    from ragline_common.settings import EmbedderSettings

    settings = EmbedderSettings()
    model_path = settings.model_path or default_model_path()
    exported = ensure_exported(model_path, settings.resolved_cache_dir())
    threads = os.cpu_count() or 1
    batch_sizes = [int(size) for size in args.batch_sizes.split(",")]
    data = subset(load(args.data), args.docs)
    chunks = chunks_of(data, TokenCounter(model_path))
    load_before = os.getloadavg()[0]
    print(f"{len(data.corpus)} documents, {len(chunks)} chunks, {len(data.queries)} queries")
    backends: dict[str, Callable[[], Encode]] = {
        "torch": lambda: torch_backend(model_path),
        "onnx": lambda: onnx_backend(exported / FP32_FILE, model_path, threads),
        "onnx-int8": lambda: onnx_backend(exported / INT8_FILE, model_path, threads),
        "openvino-int8": lambda: openvino_backend(exported / INT8_FILE, model_path, threads),
    }
    results: dict[str, Result] = {}
    reference = None
    for name, build in backends.items():
        result, vectors = measure(build(), data, chunks, batch_sizes, reference)
        reference = vectors if reference is None else reference
        results[name] = result
        print(f"{name}: {result}", flush=True)
    notes = [
        f"{len(data.corpus)} SciFact documents (every judged one, then corpus order), "
        f"{len(chunks)} chunks, {len(data.queries)} judged queries; nDCG@10 is over this subset.",
        f"{threads} cores; load average {load_before:.1f} before and "
        f"{os.getloadavg()[0]:.1f} after (other work on the machine slows every backend).",
    ]
    args.output_dir.mkdir(parents=True, exist_ok=True)
    summary = {
        name: {
            "chunks_per_s": result.chunks_per_s,
            "ndcg@10": result.ndcg_at_10,
            "cosine_min": result.cosine_min,
            "cosine_mean": result.cosine_mean,
            "batch_size": result.batch_size,
        }
        for name, result in results.items()
    }
    (args.output_dir / "embed.json").write_text(json.dumps(summary, indent=2) + "\n")
    (args.output_dir / "embed.md").write_text(markdown(results, notes))
    print(markdown(results, notes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
