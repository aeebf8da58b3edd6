"""What every in-process embedding backend shares: loading once, and encoding in worker threads.

The torch and ONNX backends differ in how they open a model and run it, not in how they keep
the event loop free. Encoding is CPU-bound, so it runs in worker threads: ``parallel_encodes``
encodes at a time, each on ``threads`` cores (0: the cores divided among the encodes, since
more would only thrash the caches). Long inputs are cut into ``batch_size`` pieces, each its
own thread call, so a query embedded while a large document is being indexed waits for one
batch at most, not for the whole document. When the worker's bulk work stops,
``release_memory`` gives back what its batches grew: a process that has indexed and now
serves searches should not keep the memory of its largest batch.
"""

from __future__ import annotations

import ctypes
import os
from abc import ABC, abstractmethod
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Generic, TypeVar

import anyio
import anyio.to_thread

from ragline_common.adapters.embedder.model_dir import DIMENSION, MODEL_ID
from ragline_common.settings import EmbedderSettings

ModelT = TypeVar("ModelT")


def trim_malloc() -> None:
    """Return the free memory of glibc's heaps to the system (a no-op elsewhere).

    glibc keeps freed blocks in its arenas, one per thread that allocated, for reuse; a
    runtime that frees the buffers of its large batches does not shrink the process by that
    alone. ``malloc_trim(0)`` releases the free pages of every arena: 22 MiB of a monolith
    that had indexed 400 SciFact documents (411 to 389 MiB serving, with the arena released).
    """
    try:
        libc = ctypes.CDLL(None)
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return
    trim(0)


class ThreadedLocalEmbedder(ABC, Generic[ModelT]):
    """A local model of all-MiniLM-L6-v2's shape, loaded by ``_load`` and run by ``_encode``.

    Subclasses say how to open the model (``_load``, returning what ``_encode`` runs), how to
    encode one batch with it, and how to count tokens; this class decides when and where those
    run.
    """

    def __init__(self, settings: EmbedderSettings) -> None:
        self._settings = settings
        self._model: ModelT | None = None
        self._limiter = anyio.CapacityLimiter(settings.parallel_encodes)
        self._loading = anyio.CapacityLimiter(1)

    @property
    def model_id(self) -> str:
        # One id for every local backend: their vectors are interchangeable (cosine >= 0.99),
        # so they read and write the same collection.
        return MODEL_ID

    @property
    def dimension(self) -> int:
        # Known before warm_up: the vector store creates its collection before the model loads.
        return DIMENSION

    async def warm_up(self) -> None:
        """Load the model once; safe to call from several hosted services at the same time.

        Loading takes seconds (importing torch, or exporting and verifying the ONNX model), so
        it runs in a worker thread, and a limiter serialises concurrent callers: the second
        finds the model ready.
        """
        await anyio.to_thread.run_sync(self._load_once, limiter=self._loading)

    async def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        model = self._require_model()
        batch_size = self._settings.batch_size
        vectors: list[list[float]] = []
        for start in range(0, len(texts), batch_size):
            batch = list(texts[start : start + batch_size])
            vectors.extend(await self._encode_in_worker(model, batch))
        return vectors

    async def embed_query(self, text: str) -> list[float]:
        vectors = await self._encode_in_worker(self._require_model(), [text])
        return vectors[0]

    async def release_memory(self) -> None:
        """Hand back the memory the largest batches grew
        (:class:`~ragline_common.ports.embedder.ReleasesMemory`).

        In a worker thread under the encode limiter, as it may run the model; then the C
        heap's free pages go back to the system too.
        """
        if self._model is not None:
            await anyio.to_thread.run_sync(
                partial(self._release, self._model), limiter=self._limiter
            )

    def _release(self, model: ModelT) -> None:
        """Free what ``model``'s runtime keeps for large batches (nothing, unless overridden),
        then :func:`trim_malloc`; runs in a worker thread."""
        trim_malloc()

    @abstractmethod
    def count_tokens(self, text: str) -> int:
        """Tokens the model sees for ``text`` (chunk sizes are measured in these)."""

    @abstractmethod
    def _load(self) -> ModelT:
        """Open (and check) the model; runs in a worker thread, at most once per instance."""

    @abstractmethod
    def _encode(self, model: ModelT, texts: list[str]) -> list[list[float]]:
        """Unit vectors for ``texts``, in order; runs in a worker thread."""

    def _threads_per_encode(self) -> int:
        """Intra-op threads for one encode: ``threads``, or the cores shared by the encodes."""
        return self._settings.threads or max(
            1, (os.cpu_count() or 1) // self._settings.parallel_encodes
        )

    def _require_announced_dimension(self, model_path: Path, actual: int | None) -> None:
        """Refuse a model whose vectors do not fit the collection ``dimension`` announced.

        ``actual`` is None when the model directory does not say (sentence-transformers).
        """
        if actual != DIMENSION:
            raise ValueError(
                f"the model in {model_path} produces {actual}-dimensional vectors; "
                f"{MODEL_ID} must produce {DIMENSION}"
            )

    def _require_model(self) -> ModelT:
        if self._model is None:
            raise RuntimeError(f"{type(self).__name__}.warm_up() must run before embedding")
        return self._model

    def _load_once(self) -> None:
        if self._model is None:
            self._model = self._load()

    async def _encode_in_worker(self, model: ModelT, texts: list[str]) -> list[list[float]]:
        return await anyio.to_thread.run_sync(
            partial(self._encode, model, texts), limiter=self._limiter
        )
