"""Choose the embedder that runs in this process (or, for ``hash``, needs no model at all).

Each backend's module is imported only when chosen, so a process configured for ONNX never
imports torch, and one configured for ``hash`` imports neither.
"""

from __future__ import annotations

import structlog

from ragline_common.ports.embedder import Embedder
from ragline_common.settings import EmbedderSettings

log = structlog.get_logger(__name__)


def local_embedder(settings: EmbedderSettings) -> Embedder:
    """The embedder for ``settings.kind``, built but not warmed up."""
    match settings.kind:
        case "onnx-int8" | "onnx":
            from ragline_common.adapters.embedder.onnx.runtime import OnnxEmbedder, Precision

            precision = Precision.INT8 if settings.kind == "onnx-int8" else Precision.FP32
            return OnnxEmbedder(settings, precision)
        case "torch" | "minilm":
            if settings.kind == "minilm":
                log.warning("embedder_kind_deprecated", kind="minilm", replacement="torch")
            from ragline_common.adapters.embedder.minilm import MiniLmEmbedder

            return MiniLmEmbedder(settings)
        case "hash":
            from ragline_common.adapters.embedder.hashing import HashEmbedder

            return HashEmbedder(settings.hash_dimension)
        case "openai":
            raise ValueError("kind 'openai' is a remote provider, not a local embedder")
