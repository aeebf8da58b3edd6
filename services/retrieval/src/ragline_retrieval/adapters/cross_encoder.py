"""``Reranker`` on a sentence-transformers cross-encoder loaded from a local directory.

The model is read from disk only (``local_files_only``): a search service must not reach out to
a model hub at start-up, and an operator chooses and vets the model they mount. Scoring is
CPU-heavy, so it runs in a worker thread, one batch at a time (concurrent batches would only
fight over the same cores).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread


class CrossEncoderReranker:
    def __init__(self, model_path: Path, *, batch_size: int = 16, max_length: int = 512) -> None:
        self._path = model_path
        self._batch_size = batch_size
        self._max_length = max_length
        self._model: Any = None
        self._limiter = anyio.CapacityLimiter(1)

    @property
    def model_id(self) -> str:
        return f"cross-encoder:{self._path.name}"

    async def warm_up(self) -> None:
        if self._model is not None:
            return
        if not self._path.is_dir():
            raise ValueError(
                f"RAGLINE_RETRIEVAL_RERANK_MODEL_PATH={self._path} is not a directory holding a "
                "cross-encoder model"
            )
        self._model = await anyio.to_thread.run_sync(self._load)

    async def scores(self, query: str, passages: Sequence[str]) -> list[float]:
        if self._model is None:
            raise RuntimeError("warm_up() must run before scores()")
        if not passages:
            return []
        pairs = [(query, passage) for passage in passages]
        return await anyio.to_thread.run_sync(self._predict, pairs, limiter=self._limiter)

    def _load(self) -> Any:
        from sentence_transformers import CrossEncoder

        return CrossEncoder(
            str(self._path),
            device="cpu",
            max_length=self._max_length,
            local_files_only=True,
        )

    def _predict(self, pairs: list[tuple[str, str]]) -> list[float]:
        raw = self._model.predict(
            pairs, batch_size=self._batch_size, show_progress_bar=False, convert_to_numpy=True
        )
        return [float(score) for score in raw]
