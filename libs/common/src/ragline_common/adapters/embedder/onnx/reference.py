"""The fixed sample a runtime must reproduce before it serves: torch's vectors, stored at export.

An exported file can be wrong in ways nothing else notices: a quantisation that hurts this
model more than it should, an exporter bug, a truncated or altered file in the cache. Every
one of them shows as vectors that point elsewhere than the reference model's, so the runtime
embeds this sample at start-up and compares (cosine) with what torch computed from the source
weights. The sample mixes lengths (a single word; a text past the sequence limit, so
truncation is checked too), domains and scripts. It holds no empty text: ``[CLS] [SEP]``
alone carries no meaning, and int8 moves its vector more than any real text's (cosine 0.975).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

SAMPLE_TEXTS: tuple[str, ...] = (
    "aspirin",
    "What is the capital of France?",
    "Retrieval-augmented generation grounds a language model's answer in retrieved passages.",
    "Mitochondria are the site of oxidative phosphorylation in eukaryotic cells.",
    "The quarterly report shows revenue up 12% year over year, driven by subscriptions.",
    "def fibonacci(n):\n    return n if n < 2 else fibonacci(n - 1) + fibonacci(n - 2)",
    "Der schnelle braune Fuchs springt über den faulen Hund.",
    "東京は日本の首都です。",
    "Patients receiving the vaccine showed a 40% reduction in hospitalisation compared with "
    "placebo, with no serious adverse events reported during the twelve-month follow-up.",
    "Error: connection refused (ECONNREFUSED) while contacting 127.0.0.1:5672",
    " ".join(
        f"Sentence {index} of a long document repeats itself to pass the model's sequence limit."
        for index in range(60)
    ),
)
REFERENCE_FILE = "reference.json"


class EmbedderVerificationFailed(RuntimeError):
    """The runtime's vectors for the sample are not the reference model's: refuse to serve."""


@dataclass(frozen=True)
class Agreement:
    cosine_min: float
    cosine_mean: float


def write_reference(folder: Path, vectors: Sequence[Sequence[float]]) -> None:
    payload = {"texts": list(SAMPLE_TEXTS), "vectors": [list(vector) for vector in vectors]}
    (folder / REFERENCE_FILE).write_text(json.dumps(payload))


def read_reference(folder: Path) -> tuple[list[str], list[list[float]]]:
    payload = json.loads((folder / REFERENCE_FILE).read_text())
    texts: list[str] = payload["texts"]
    vectors: list[list[float]] = payload["vectors"]
    if len(texts) != len(vectors):
        raise EmbedderVerificationFailed(f"{folder / REFERENCE_FILE} is damaged")
    return texts, vectors


def agreement(
    vectors: Sequence[Sequence[float]], reference: Sequence[Sequence[float]]
) -> Agreement:
    """Cosine of each vector with its reference, as the minimum and the mean."""
    if len(vectors) != len(reference) or not reference:
        raise ValueError("the vectors and the reference must pair up one to one")
    cosines = [_cosine(a, b) for a, b in zip(vectors, reference, strict=True)]
    return Agreement(cosine_min=min(cosines), cosine_mean=sum(cosines) / len(cosines))


def verify_against_reference(
    encode: Callable[[list[str]], Sequence[Sequence[float]]],
    folder: Path,
    *,
    threshold: float,
    remedy: str,
) -> Agreement:
    """Embed the stored sample with ``encode``; refuse (with ``remedy``) below ``threshold``."""
    texts, reference = read_reference(folder)
    result = agreement(encode(texts), reference)
    if result.cosine_min < threshold:
        raise EmbedderVerificationFailed(
            f"the exported model in {folder} does not reproduce the reference model's vectors "
            f"(lowest cosine on the sample {result.cosine_min:.4f}, needed {threshold}): {remedy}"
        )
    return result


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    if len(a) != len(b):
        return 0.0
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norms = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norms if norms > 0 else 0.0
