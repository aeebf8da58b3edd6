"""Embedders: the real sentence-transformers model and a hashing stand-in for tests.

Importing this package is cheap: torch and sentence-transformers are imported by
``MiniLmEmbedder.warm_up``, not here.
"""

from ragline_common.adapters.embedder.hashing import HashEmbedder
from ragline_common.adapters.embedder.minilm import MiniLmEmbedder

__all__ = ["HashEmbedder", "MiniLmEmbedder"]
