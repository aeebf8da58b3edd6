"""Which embedder each ``RAGLINE_EMBEDDER_KIND`` builds (built, not warmed up: no model loads)."""

from __future__ import annotations

import pytest
import structlog

from ragline_common.adapters.embedder.hashing import HashEmbedder
from ragline_common.adapters.embedder.minilm import MiniLmEmbedder
from ragline_common.adapters.embedder.onnx.runtime import OnnxEmbedder, Precision
from ragline_common.adapters.embedder.selection import local_embedder
from ragline_common.settings import EmbedderSettings


@pytest.mark.parametrize(
    ("kind", "precision"), [("onnx-int8", Precision.INT8), ("onnx", Precision.FP32)]
)
def test_onnx_kinds_build_the_onnx_embedder_at_their_precision(
    kind: str, precision: Precision, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAGLINE_EMBEDDER_KIND", kind)
    embedder = local_embedder(EmbedderSettings())
    assert isinstance(embedder, OnnxEmbedder)
    assert embedder._precision is precision


def test_torch_and_its_old_name_minilm_build_the_reference_backend() -> None:
    with structlog.testing.capture_logs() as logs:
        assert isinstance(local_embedder(EmbedderSettings(kind="torch")), MiniLmEmbedder)
        assert logs == []
        assert isinstance(local_embedder(EmbedderSettings(kind="minilm")), MiniLmEmbedder)
    assert [entry["event"] for entry in logs] == ["embedder_kind_deprecated"]


def test_hash_builds_the_stand_in_with_its_dimension() -> None:
    embedder = local_embedder(EmbedderSettings(kind="hash", hash_dimension=64))
    assert isinstance(embedder, HashEmbedder)
    assert embedder.dimension == 64


def test_a_remote_kind_is_not_a_local_embedder() -> None:
    with pytest.raises(ValueError, match="remote provider"):
        local_embedder(EmbedderSettings(kind="openai"))


def test_an_unknown_kind_is_refused_by_the_settings() -> None:
    with pytest.raises(ValueError, match="onnx-int8"):
        EmbedderSettings(kind="onnx-int4")
