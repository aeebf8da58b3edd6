"""Bulk loads defer HNSW building to their end; searches are right during and after.

Both adapters (this folder's ``conftest.py``). The Qdrant-server variant also checks that the
collection's indexing threshold is 0 during a load and restored after it.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Protocol

import pytest
from vs_contract_harness import LOCAL_MODE_INDEX_WARNING_IGNORED, A, B, axis, chunk

from ragline_common.adapters.vector_store.qdrant_remote import QdrantRemoteVectorStore
from ragline_common.ports.vector_store import VectorStore

pytestmark = LOCAL_MODE_INDEX_WARNING_IGNORED


class BulkLoading(VectorStore, Protocol):
    def bulk_load(self) -> AbstractAsyncContextManager[None]: ...


async def nearest(store: VectorStore, tenant: str, probe: int) -> list[int]:
    hits = await store.search(
        A if tenant == A else B, mode="dense", dense=axis(probe), sparse=None, limit=3
    )
    return [hit.payload.chunk_index for hit in hits]


async def test_searches_are_right_during_and_after_a_bulk_load(store: BulkLoading) -> None:
    await store.upsert(A, [chunk(A, "before", 0, dense=axis(0))])
    async with store.bulk_load():
        async with store.bulk_load():  # overlapping loads (two documents) end once
            await store.upsert(A, [chunk(A, "doc", i, dense=axis(i, 0.1)) for i in range(1, 6)])
            await store.upsert(B, [chunk(B, "doc", 3, dense=axis(3))])
            during = await nearest(store, A, 3)
        await store.upsert(A, [chunk(A, "late", 7, dense=axis(7))])
        still_loading = await nearest(store, A, 7)
    after = await nearest(store, A, 3)

    assert during[0] == 3
    assert still_loading[0] == 7
    assert after[:2] == during[:2] == [3, 2]  # the probe's axis, then the tilted neighbour
    assert await store.count(A) == 7
    assert [
        hit.payload.tenant_id
        for hit in await store.search(B, mode="dense", dense=axis(3), sparse=None, limit=10)
    ] == [B]


async def test_a_failed_write_inside_a_bulk_load_still_ends_it(store: BulkLoading) -> None:
    with pytest.raises(ValueError, match="dimensions"):
        async with store.bulk_load():
            await store.upsert(A, [chunk(A, "doc", dense=[1.0])])
    # Ended: a new load starts and ends cleanly, and writes are searchable.
    async with store.bulk_load():
        await store.upsert(A, [chunk(A, "doc", 2, dense=axis(2))])
    assert (await nearest(store, A, 2))[0] == 2


@pytest.mark.integration
async def test_the_server_indexes_nothing_during_a_load_and_again_after(
    qdrant_server_url: str,
) -> None:
    store = QdrantRemoteVectorStore(
        model_id="tests/bulk-8", dimension=8, collection_prefix="tbulk", url=qdrant_server_url
    )
    await store.open()
    try:
        client = store._require_client()

        async def threshold() -> int | None:
            info = await client.get_collection(store.collection)
            return info.config.optimizer_config.indexing_threshold

        before = await threshold()
        async with store.bulk_load():
            assert await threshold() == 0
        assert await threshold() == before
    finally:
        await store.drop()
