"""Reading a sentence-transformers directory, and pooling/normalising as it says (no model)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ragline_common.adapters.embedder.model_dir import (
    Pooling,
    UnsupportedModel,
    default_model_path,
    read_sentence_model_config,
)
from ragline_common.adapters.embedder.onnx.pooling import normalize, pool

TRANSFORMER = {
    "idx": 0,
    "name": "0",
    "path": "",
    "type": "sentence_transformers.models.Transformer",
}
POOLING = {
    "idx": 1,
    "name": "1",
    "path": "1_Pooling",
    "type": "sentence_transformers.models.Pooling",
}
NORMALIZE = {
    "idx": 2,
    "name": "2",
    "path": "2_Normalize",
    "type": "sentence_transformers.models.Normalize",
}


def _model_dir(
    root: Path,
    *,
    modes: dict[str, bool],
    modules: list[dict[str, object]],
    bert_config: dict[str, object] | None = None,
) -> Path:
    (root / "1_Pooling").mkdir(parents=True)
    (root / "modules.json").write_text(json.dumps(modules))
    (root / "config.json").write_text(json.dumps({"max_position_embeddings": 512}))
    pooling = {"word_embedding_dimension": 8, **modes}
    (root / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
    if bert_config is not None:
        (root / "sentence_bert_config.json").write_text(json.dumps(bert_config))
    return root


def test_the_bundled_minilm_pools_by_mean_normalises_and_stops_at_256_tokens() -> None:
    config = read_sentence_model_config(default_model_path())
    assert config.pooling is Pooling.MEAN
    assert config.normalize
    assert config.max_seq_length == 256
    assert config.dimension == 384
    assert not config.do_lower_case


@pytest.mark.parametrize(
    ("flag", "expected"),
    [
        ("pooling_mode_cls_token", Pooling.CLS),
        ("pooling_mode_mean_tokens", Pooling.MEAN),
        ("pooling_mode_max_tokens", Pooling.MAX),
        ("pooling_mode_mean_sqrt_len_tokens", Pooling.MEAN_SQRT_LEN),
    ],
)
def test_the_pooling_mode_comes_from_the_pooling_config(
    tmp_path: Path, flag: str, expected: Pooling
) -> None:
    path = _model_dir(
        tmp_path,
        modes={"pooling_mode_mean_tokens": False, flag: True},
        modules=[TRANSFORMER, POOLING],
    )
    config = read_sentence_model_config(path)
    assert config.pooling is expected
    assert not config.normalize  # no Normalize module
    assert config.max_seq_length == 512  # no sentence_bert_config: the model's own limit


def test_sequence_length_and_lower_casing_come_from_sentence_bert_config(tmp_path: Path) -> None:
    path = _model_dir(
        tmp_path,
        modes={"pooling_mode_cls_token": True},
        modules=[TRANSFORMER, POOLING, NORMALIZE],
        bert_config={"max_seq_length": 128, "do_lower_case": True},
    )
    config = read_sentence_model_config(path)
    assert (config.max_seq_length, config.do_lower_case, config.normalize) == (128, True, True)


@pytest.mark.parametrize(
    "modes",
    [
        {"pooling_mode_cls_token": True, "pooling_mode_mean_tokens": True},
        {"pooling_mode_lasttoken": True},
        {},
    ],
)
def test_pooling_this_runtime_cannot_reproduce_is_refused(
    tmp_path: Path, modes: dict[str, bool]
) -> None:
    path = _model_dir(tmp_path, modes=modes, modules=[TRANSFORMER, POOLING])
    with pytest.raises(UnsupportedModel, match="pooling"):
        read_sentence_model_config(path)


def test_a_directory_without_modules_json_names_the_setting_to_fix(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="RAGLINE_EMBEDDER_MODEL_PATH"):
        read_sentence_model_config(tmp_path)


# Two texts: the first has 3 real tokens, the second 1 real token and 2 of padding.
TOKENS = np.array(
    [
        [[1.0, 0.0], [3.0, 2.0], [5.0, -2.0]],
        [[2.0, 4.0], [100.0, 100.0], [-100.0, 50.0]],
    ],
    dtype=np.float32,
)
MASK = np.array([[1, 1, 1], [1, 0, 0]], dtype=np.int64)


def test_mean_pooling_ignores_padding() -> None:
    np.testing.assert_allclose(pool(TOKENS, MASK, Pooling.MEAN), [[3.0, 0.0], [2.0, 4.0]])


def test_max_pooling_ignores_padding_even_when_it_is_larger() -> None:
    np.testing.assert_allclose(pool(TOKENS, MASK, Pooling.MAX), [[5.0, 2.0], [2.0, 4.0]])


def test_cls_pooling_takes_the_first_token() -> None:
    np.testing.assert_allclose(pool(TOKENS, MASK, Pooling.CLS), [[1.0, 0.0], [2.0, 4.0]])


def test_mean_sqrt_len_divides_the_sum_by_the_root_of_the_token_count() -> None:
    expected = [[9.0 / np.sqrt(3), 0.0], [2.0, 4.0]]
    np.testing.assert_allclose(pool(TOKENS, MASK, Pooling.MEAN_SQRT_LEN), expected, rtol=1e-6)


def test_normalize_gives_unit_rows_and_leaves_a_zero_row_finite() -> None:
    vectors = normalize(np.array([[3.0, 4.0], [0.0, 0.0]], dtype=np.float32))
    np.testing.assert_allclose(vectors, [[0.6, 0.8], [0.0, 0.0]])
