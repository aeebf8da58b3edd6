"""The ONNX embedder: a sentence-transformers model run by onnxruntime, int8 or fp32.

``warm_up`` finds (or has a child process make) the export of the configured model, opens it,
and, before its first use, embeds the reference sample: vectors that stray from the torch
model's (a quantisation this model does not take well, a damaged cache file) stop the start-up
with the cause and the remedy, instead of filling a collection with vectors that do not match
the ones already in it. The export command stamps the files that pass (:mod:`.verified`); a
start that finds a stamp matching the file's bytes and this runtime skips the sample. A
serving process only reads the cache: it checks without a stamp, and never writes one.

Encoding runs in worker threads as :mod:`ragline_common.adapters.embedder.threaded` describes,
the scheme the torch backend uses too; ``threads`` sizes onnxruntime's intra-op pool of each
encode.
"""

from __future__ import annotations

from enum import StrEnum
from functools import partial

from ragline_common.adapters.embedder.model_dir import (
    default_model_path,
    read_sentence_model_config,
)
from ragline_common.adapters.embedder.onnx.cache import FP32_FILE, INT8_FILE, ensure_exported
from ragline_common.adapters.embedder.onnx.encoder import OnnxSentenceEncoder
from ragline_common.adapters.embedder.onnx.reference import verify_against_reference
from ragline_common.adapters.embedder.onnx.verified import (
    is_verified,
    model_digest,
    record_verified,
)
from ragline_common.adapters.embedder.threaded import ThreadedLocalEmbedder
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


class OnnxEmbedder(ThreadedLocalEmbedder[OnnxSentenceEncoder]):
    """384-dimensional unit vectors of all-MiniLM-L6-v2 (or the model at ``model_path``)."""

    def __init__(
        self, settings: EmbedderSettings, precision: Precision, *, stamp: bool = False
    ) -> None:
        """``stamp``: record a passed check beside the file (the export command does)."""
        super().__init__(settings)
        self._precision = precision
        self._stamp = stamp

    def count_tokens(self, text: str) -> int:
        return self._require_model().count_tokens(text)

    def _load(self) -> OnnxSentenceEncoder:
        """Open the export and verify it before it embeds anything."""
        model_path = self._settings.model_path or default_model_path()
        config = read_sentence_model_config(model_path)
        self._require_announced_dimension(model_path, config.dimension)
        folder = ensure_exported(model_path, self._settings.resolved_cache_dir())
        model_file = folder / MODEL_FILES[self._precision]
        # One read: the bytes that are hashed against the stamp are the bytes that will run.
        model_bytes = model_file.read_bytes()
        digest = model_digest(model_bytes)
        encoder = OnnxSentenceEncoder.open(
            model_bytes, model_path, config, threads=self._threads_per_encode()
        )
        del model_bytes  # onnxruntime holds its own copy
        threshold = MIN_COSINE[self._precision]
        if is_verified(model_file, digest, threshold):
            return encoder
        agreement = verify_against_reference(
            partial(self._encode, encoder),
            folder,
            threshold=threshold,
            remedy=_REMEDY[self._precision],
        )
        # The sample is padded to 256 tokens: a process that will only embed queries must not
        # keep the arena it grew.
        self._release(encoder)
        if self._stamp:
            record_verified(model_file, digest, agreement)
        return encoder

    def _release(self, model: OnnxSentenceEncoder) -> None:
        model.release_memory()
        super()._release(model)

    def _encode(self, model: OnnxSentenceEncoder, texts: list[str]) -> list[list[float]]:
        vectors: list[list[float]] = model.encode(texts).tolist()
        return vectors
