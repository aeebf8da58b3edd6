"""A reindex to a spec writing a kept index's collection is refused (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from ragline_common.errors import Conflict
from ragline_gateway.adapters.catalog import SqlCatalog


async def test_a_local_spec_sharing_the_active_collection_is_refused(catalog: SqlCatalog) -> None:
    assert await catalog.active_index_model("onnx-int8") == "onnx-int8"

    for spec in ("torch", "onnx", "torch:/models/minilm"):
        with pytest.raises(Conflict) as refused:
            await catalog.start_reindex(spec, default_spec="onnx-int8")
        assert refused.value.code == "index_model_same_collection"
    # Refused before anything was recorded: no building index holds the next start back.
    assert [row.spec for row in await catalog.list_index_models()] == ["onnx-int8"]
    started = await catalog.start_reindex("hash", default_spec="onnx-int8")
    assert started.state in ("building", "active")


async def test_a_spec_sharing_a_previous_collection_is_refused_with_a_hint(
    catalog: SqlCatalog,
) -> None:
    await catalog.active_index_model("torch")
    await catalog.start_reindex("hash", default_spec="torch")  # empty catalog: active at once
    assert await catalog.active_index_model("torch") == "hash"

    with pytest.raises(Conflict) as refused:
        await catalog.start_reindex("onnx-int8", default_spec="torch")
    assert refused.value.code == "index_model_same_collection"
    assert "activate torch instead" in str(refused.value)
