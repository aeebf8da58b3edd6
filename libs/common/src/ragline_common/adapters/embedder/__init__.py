"""Embedders: ONNX (:mod:`.onnx`), the sentence-transformers reference, a hashing stand-in for
tests; :func:`.selection.local_embedder` picks one from the settings.

Importing this package is cheap: torch and sentence-transformers are imported by
``MiniLmEmbedder.warm_up``, onnxruntime and numpy by the ONNX modules, not here.
"""

from ragline_common.adapters.embedder.hashing import HashEmbedder
from ragline_common.adapters.embedder.minilm import MiniLmEmbedder

__all__ = ["HashEmbedder", "MiniLmEmbedder"]
