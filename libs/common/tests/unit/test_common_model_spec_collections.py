"""Which model specs write the same collection, known without loading a model (issue 15)."""

from __future__ import annotations

import pytest

from ragline_common.indexing.model_spec import ModelSpec


@pytest.mark.parametrize(
    ("first", "second", "shared"),
    [
        ("torch", "onnx-int8", True),
        ("onnx", "onnx-int8", True),
        ("torch:/models/a", "onnx-int8", True),  # every local backend reports MiniLM's id
        ("hash", "hash", True),
        ("hash", "onnx-int8", False),
        ("openai", "openai", True),
        ("openai:text-embedding-3-small", "openai", False),
        ("openai", "torch", False),
    ],
)
def test_shares_collection_with(first: str, second: str, shared: bool) -> None:
    a, b = ModelSpec.parse(first), ModelSpec.parse(second)
    assert a.shares_collection_with(b) is shared
    assert b.shares_collection_with(a) is shared
