"""Reading a provider's embeddings answer: nothing unchecked reaches the vector store.

A provider serving another model than configured, a proxy that reorders or drops items, a
model that emits NaN: each would store vectors that silently ruin search for every tenant.
So the answer must hold exactly one vector per input, by index, all of one size, finite and
non-zero; anything else is :class:`EmbeddingResponseInvalid` and no vector of it is used.
"""

from __future__ import annotations

import math
from typing import Any

from ragline_common.adapters.embedder.remote_failures import EmbeddingResponseInvalid


def unit_vectors(
    response: Any, *, inputs: int, dimension: int | None, configured: bool, model: str
) -> list[list[float]]:
    """The answer's vectors in input order, normalised to unit length.

    ``dimension`` ``None`` (never configured, nothing answered yet) accepts the first
    vector's size for all; ``configured`` only words the error.
    """
    try:
        items = sorted(response.data, key=lambda item: item.index)
        indices = [item.index for item in items]
        raw: list[object] = [item.embedding for item in items]
    except (AttributeError, TypeError) as exc:
        raise EmbeddingResponseInvalid(
            "the embedding provider's answer holds no list of embeddings"
        ) from exc
    if indices != list(range(inputs)):
        raise EmbeddingResponseInvalid(
            f"the embedding provider answered {len(items)} embeddings for {inputs} inputs"
        )
    size = dimension
    if size is None:
        size = len(raw[0]) if isinstance(raw[0], list) else 0
    wrong = [vector for vector in raw if not isinstance(vector, list) or len(vector) != size]
    if wrong or size == 0:
        sample = wrong[0] if wrong else raw[0]
        got = len(sample) if isinstance(sample, list) else "no"
        expected = "the configured dimension is" if configured else "the model's first answers had"
        raise EmbeddingResponseInvalid(
            f"the embedding provider returned a {got}-dimensional vector for model "
            f"{model!r}; {expected} {size}"
        )
    return [_unit(vector) for vector in raw if isinstance(vector, list)]


def _unit(vector: list[Any]) -> list[float]:
    try:
        norm = math.sqrt(math.fsum(value * value for value in vector))
    except TypeError:
        norm = math.nan
    if not math.isfinite(norm) or norm == 0.0:
        raise EmbeddingResponseInvalid(
            "the embedding provider returned a zero or non-finite vector"
        )
    return [float(value) / norm for value in vector]


def reported_prompt_tokens(response: Any) -> int | None:
    """``usage.prompt_tokens`` if the provider reported it (Ollama and TEI may not)."""
    usage = getattr(response, "usage", None)
    tokens = getattr(usage, "prompt_tokens", None)
    if isinstance(tokens, int) and not isinstance(tokens, bool) and tokens >= 0:
        return tokens
    return None
