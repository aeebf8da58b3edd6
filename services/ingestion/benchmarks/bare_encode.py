"""The bare halves of ``bench_ingest``: the worker's chunks through one backend's encode alone.

The same chunks are recomputed with the ingestion parser and chunker, the backend is loaded
with the worker's settings, the fastest batch size is found on a small sample, and a fixed
sample of the chunks (``RAW_SAMPLE_CHUNKS``, seed 0; all of them when there are fewer) is
encoded with it, twice, keeping the faster pass. The result is a rate (chunks/s), so a sample
measures it as well as the whole corpus would, in a fraction of the time the torch model needs
for all of SciFact.

Each backend runs in a child process of its own (:func:`raw_encode_in_child`): the default
backend's figure is taken with no torch in the process, as in the worker, and one runtime's
thread pools cannot slow the other's.

"Bare" means the backend's own ``_encode`` on one batch at a time, in the calling thread: no
event loop, no batcher, no worker threads. The texts go in sorted by length (longest first),
as sentence-transformers sorts them, so padding costs every backend the same.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import random
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

RAW_SAMPLE_CHUNKS = 2000
"""Chunks encoded per pass: the rate of a fixed sample, not the time of the whole corpus."""
BATCH_SEARCH_CHUNKS = 256
RAW_PASSES = 2
UNBATCHED = 1024
"""The settings' batch size for the bare backends (its maximum): each ``_encode`` call is then
one forward pass over exactly the batch it is given."""

Encode = Callable[[list[str]], Any]


class Text(Protocol):
    """A document as uploaded: its text is what the worker parses."""

    @property
    def text(self) -> str: ...


def chunk_texts(documents: Sequence[Text], embedder: Any) -> list[str]:
    """The chunks the worker indexed, recomputed with its own parser, chunker and settings."""
    from ragline_ingestion.domain.chunking import chunk_document
    from ragline_ingestion.domain.parsing import default_parsers
    from ragline_ingestion.settings import IngestionSettings

    settings = IngestionSettings()
    # The worker's own parser for the uploads' type, built as the worker builds it.
    parser = default_parsers(settings.parse_limits).parser_for("text/plain")
    return [
        chunk.text
        for document in documents
        for chunk in chunk_document(
            parser.parse(document.text.encode()),
            count_tokens=embedder.count_tokens,
            limits=settings.chunking_limits,
        )
    ]


def fixed_sample(texts: Sequence[str], size: int) -> list[str]:
    """The same ``size`` texts on every run and for every backend (all when there are fewer)."""
    return random.Random(0).sample(list(texts), min(size, len(texts)))  # noqa: S311 - not a secret


def encode_sorted(encode: Encode, texts: Sequence[str], batch_size: int) -> None:
    """Every text in batches of ``batch_size``, longest first."""
    ordered = sorted(texts, key=len, reverse=True)
    for start in range(0, len(ordered), batch_size):
        encode(ordered[start : start + batch_size])


def time_encode(encode: Encode, texts: Sequence[str], batch_size: int) -> float:
    """Chunks per second of one pass over ``texts``."""
    started = time.perf_counter()
    encode_sorted(encode, texts, batch_size)
    return len(texts) / (time.perf_counter() - started)


def time_parallel_encode(
    encode: Encode, texts: Sequence[str], batch_size: int, lanes: int
) -> float:
    """Chunks per second of ``lanes`` passes side by side, each over an equal share of the
    texts, with a backend built for ``lanes`` encodes (cores / lanes threads each): the bare
    form of ``parallel_encodes``."""
    shares = [texts[lane::lanes] for lane in range(lanes)]
    workers = [
        threading.Thread(target=encode_sorted, args=(encode, share, batch_size)) for share in shares
    ]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return len(texts) / (time.perf_counter() - started)


@dataclass
class RawEncode:
    kind: str
    texts: list[str]
    """Every chunk, recomputed (the sample is drawn from these)."""
    sample_chunks: int
    best_batch_size: int
    chunks_per_s: float
    """The best of one call and, when the worker runs parallel encodes, as many side by side."""
    cpu_s: float
    """CPU time of one pass over the sample."""
    by_batch_size: dict[int, float]
    single_call_chunks_per_s: float
    parallel_chunks_per_s: float | None

    @property
    def cpu_ms_per_chunk(self) -> float:
        return self.cpu_s / self.sample_chunks * 1000


def _bare_backend(kind: str, parallel_encodes: int) -> tuple[Any, Encode]:
    """The local backend ``kind``, warmed up, and its own encode of one batch."""
    from ragline_common.adapters.embedder.selection import local_embedder
    from ragline_common.adapters.embedder.threaded import ThreadedLocalEmbedder
    from ragline_common.settings import EmbedderSettings

    update = {"kind": kind, "parallel_encodes": parallel_encodes, "batch_size": UNBATCHED}
    embedder = local_embedder(EmbedderSettings().model_copy(update=update))
    if not isinstance(embedder, ThreadedLocalEmbedder):
        raise SystemExit(f"the bare encode needs a local model; RAGLINE_EMBEDDER_KIND={kind}")
    asyncio.run(embedder.warm_up())
    model = embedder._model  # the bare backend, on purpose

    def encode(batch: list[str]) -> Any:
        return embedder._encode(model, batch)

    return embedder, encode


def raw_encode(documents: Sequence[Text], batch_sizes: Sequence[int], kind: str) -> RawEncode:
    """The worker's chunks through the bare backend ``kind`` at its best: the fastest batch
    size on a small sample, then the fixed sample in one call, and in as many parallel calls as
    the worker's ``parallel_encodes`` (the worker gets no credit for a parallelism the bare
    backend also has)."""
    from ragline_common.settings import EmbedderSettings

    lanes = EmbedderSettings().parallel_encodes
    embedder, encode = _bare_backend(kind, parallel_encodes=1)
    texts = chunk_texts(documents, embedder)
    sample = fixed_sample(texts, RAW_SAMPLE_CHUNKS)
    search = sample[:BATCH_SEARCH_CHUNKS]
    time_encode(encode, search[:32], 32)  # first-call allocations are not throughput
    by_size = {size: time_encode(encode, search, size) for size in batch_sizes}
    best = max(by_size, key=lambda size: by_size[size])
    # A bare model's speed varies by a quarter from one pass to the next on a shared machine;
    # its best of two passes is the baseline (the conservative choice for the ratios).
    cpu_started = time.process_time()
    single = max(time_encode(encode, sample, best) for _ in range(RAW_PASSES))
    cpu_s = (time.process_time() - cpu_started) / RAW_PASSES
    parallel = None
    if lanes > 1:
        _, lane_encode = _bare_backend(kind, parallel_encodes=lanes)
        parallel = max(
            time_parallel_encode(lane_encode, sample, best, lanes) for _ in range(RAW_PASSES)
        )
    return RawEncode(
        kind=kind,
        texts=texts,
        sample_chunks=len(sample),
        best_batch_size=best,
        chunks_per_s=max(single, parallel or 0.0),
        cpu_s=cpu_s,
        by_batch_size=by_size,
        single_call_chunks_per_s=single,
        parallel_chunks_per_s=parallel,
    )


def raw_encode_in_child(
    documents: Sequence[Text], batch_sizes: Sequence[int], kind: str
) -> RawEncode:
    """:func:`raw_encode` in a fresh process (spawned: no state inherited from this one)."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(raw_encode, list(documents), list(batch_sizes), kind).result()
