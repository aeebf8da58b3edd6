"""The ONNX embedder: a sentence-transformers model run by onnxruntime, int8 or fp32.

``warm_up`` finds (or has a child process make) the export of the configured model, opens it,
and embeds the reference sample before anything else: vectors that stray from the torch
model's (a quantisation this model does not take well, a damaged cache file) stop the start-up
with the cause and the remedy, instead of filling a collection with vectors that do not match
the ones already in it.

Encoding runs in worker threads under the same scheme as the torch backend: ``parallel_encodes``
encodes at a time, each on ``threads`` cores (0: the cores divided among the encodes), long
inputs cut into ``batch_size`` pieces so a query waits for one batch at most.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from enum import StrEnum
from functools import partial

import anyio
import anyio.to_thread

from ragline_common.adapters.embedder.model_dir import (
    DIMENSION,
    MODEL_ID,
    default_model_path,
    read_sentence_model_config,
)
from ragline_common.adapters.embedder.onnx.cache import ensure_exported
from ragline_common.adapters.embedder.onnx.encoder import OnnxSentenceEncoder
from ragline_common.adapters.embedder.onnx.export import FP32_FILE, INT8_FILE
from ragline_common.adapters.embedder.onnx.reference import verify_against_reference
from ragline_common.settings import EmbedderSettings


class Precision(StrEnum):
    INT8 = "int8"
    FP32 = "fp32"


MODEL_FILES = {Precision.INT8: INT8_FILE, Precision.FP32: FP32_FILE}
MIN_COSINE = {Precision.INT8: 0.98, Precision.FP32: 0.999}
"""Lowest cosine to torch on the sample that each precision must reach. fp32 differs from torch
only by the order of float additions; int8 measured >= 0.99 on SciFact (ADR 17)."""
_REMEDY = {
    Precision.INT8: "this model does not quantise well: use RAGLINE_EMBEDDER_KIND=onnx (fp32)",
    Precision.FP32: "the export is damaged or the model is not supported: delete the "
    "directory to export it again, or use RAGLINE_EMBEDDER_KIND=torch",
}


class OnnxEmbedder:
    """384-dimensional unit vectors of all-MiniLM-L6-v2 (or the model at ``model_path``)."""

    def __init__(self, settings: EmbedderSettings, precision: Precision) -> None:
        self._settings = settings
        self._precision = precision
        self._encoder: OnnxSentenceEncoder | None = None
        self._limiter = anyio.CapacityLimiter(settings.parallel_encodes)
        self._loading = anyio.CapacityLimiter(1)

    @property
    def model_id(self) -> str:
        # The torch backend's id: the vectors are interchangeable (cosine >= 0.99), so both
        # read and write the same collection.
        return MODEL_ID

    @property
    def dimension(self) -> int:
        # Known before warm_up: the vector store creates its collection before the model loads.
        return DIMENSION

    async def warm_up(self) -> None:
        """Load (and verify) once; concurrent callers wait for the first one's load."""
        await anyio.to_thread.run_sync(self._load, limiter=self._loading)

    async def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        encoder = self._require_encoder()
        batch_size = self._settings.batch_size
        vectors: list[list[float]] = []
        for start in range(0, len(texts), batch_size):
            batch = list(texts[start : start + batch_size])
            vectors.extend(
                await anyio.to_thread.run_sync(
                    partial(_encode, encoder, batch), limiter=self._limiter
                )
            )
        return vectors

    async def embed_query(self, text: str) -> list[float]:
        encoder = self._require_encoder()
        vectors = await anyio.to_thread.run_sync(
            partial(_encode, encoder, [text]), limiter=self._limiter
        )
        return vectors[0]

    def count_tokens(self, text: str) -> int:
        return self._require_encoder().count_tokens(text)

    def _require_encoder(self) -> OnnxSentenceEncoder:
        if self._encoder is None:
            raise RuntimeError("OnnxEmbedder.warm_up() must run before embedding")
        return self._encoder

    def _load(self) -> None:
        if self._encoder is not None:
            return
        model_path = self._settings.model_path or default_model_path()
        config = read_sentence_model_config(model_path)
        if config.dimension != DIMENSION:
            raise ValueError(
                f"the model in {model_path} produces {config.dimension}-dimensional vectors; "
                f"{MODEL_ID} must produce {DIMENSION}"
            )
        folder = ensure_exported(model_path, self._settings.resolved_cache_dir())
        threads = self._settings.threads or max(
            1, (os.cpu_count() or 1) // self._settings.parallel_encodes
        )
        encoder = OnnxSentenceEncoder.open(
            folder / MODEL_FILES[self._precision], model_path, config, threads=threads
        )
        verify_against_reference(
            partial(_encode, encoder),
            folder,
            threshold=MIN_COSINE[self._precision],
            remedy=_REMEDY[self._precision],
        )
        self._encoder = encoder


def _encode(encoder: OnnxSentenceEncoder, texts: list[str]) -> list[list[float]]:
    vectors: list[list[float]] = encoder.encode(texts).tolist()
    return vectors
