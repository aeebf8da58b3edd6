"""What only the remote adapter must do: name its collection per model, report outages as 503."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragline_common.adapters.vector_store.qdrant_remote import QdrantRemoteVectorStore
from ragline_common.errors import UpstreamUnavailable
from ragline_common.tenancy import TenantId

MODEL = "sentence-transformers/all-MiniLM-L6-v2"


def test_collection_is_named_after_prefix_model_and_dimension() -> None:
    store = QdrantRemoteVectorStore(
        model_id=MODEL, dimension=384, collection_prefix="acme", url="http://127.0.0.1:6333"
    )
    assert store.collection == "acme_sentence_transformers_all_minilm_l6_v2_384"


def test_exactly_one_target_is_required(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="exactly one"):
        QdrantRemoteVectorStore(model_id=MODEL, dimension=8)
    with pytest.raises(ValueError, match="exactly one"):
        QdrantRemoteVectorStore(
            model_id=MODEL, dimension=8, url="http://127.0.0.1:6333", path=tmp_path
        )


async def test_unreachable_server_is_an_upstream_outage() -> None:
    # Port 9 (discard) is closed here: every call fails to connect.
    store = QdrantRemoteVectorStore(
        model_id=MODEL, dimension=8, url="http://127.0.0.1:9", timeout_s=2
    )
    try:
        with pytest.raises(UpstreamUnavailable) as refused:
            await store.open()
        with pytest.raises(UpstreamUnavailable):
            await store.ping()
        with pytest.raises(UpstreamUnavailable):
            await store.count(TenantId("tenant-a"))
    finally:
        await store.close()
    # The client's own words (hosts, ports, errno text) stay in the log, out of any 503 body.
    assert refused.value.code == "vector_store_unavailable"
    assert str(refused.value.__cause__) not in refused.value.detail
