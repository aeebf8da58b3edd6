"""Token vectors to one vector per text, as sentence-transformers' Pooling and Normalize do.

Padding positions (attention mask 0) never count: a text must get the same vector whether it
is embedded alone or padded to the longest text of its batch.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ragline_common.adapters.embedder.model_dir import Pooling

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]

_EPSILON = 1e-9
"""sentence-transformers' floor for token counts and norms (an all-padding row stays finite)."""


def pool(token_vectors: FloatArray, attention_mask: IntArray, pooling: Pooling) -> FloatArray:
    """``token_vectors`` is (texts, tokens, dimension); the result is (texts, dimension)."""
    mask = attention_mask[..., np.newaxis].astype(np.float32)
    match pooling:
        case Pooling.CLS:
            return token_vectors[:, 0]
        case Pooling.MAX:
            # Padding must never win the max, so it is pushed far below any real value.
            masked = np.where(mask > 0, token_vectors, np.float32(-1e9))
            return np.asarray(masked.max(axis=1), dtype=np.float32)
        case Pooling.MEAN | Pooling.MEAN_SQRT_LEN:
            summed = (token_vectors * mask).sum(axis=1)
            counts = np.clip(mask.sum(axis=1), _EPSILON, None)
            divisor = counts if pooling is Pooling.MEAN else np.sqrt(counts)
            return np.asarray(summed / divisor, dtype=np.float32)


def normalize(vectors: FloatArray) -> FloatArray:
    """Each row scaled to unit length (cosine similarity becomes a dot product)."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.asarray(vectors / np.clip(norms, _EPSILON, None), dtype=np.float32)
