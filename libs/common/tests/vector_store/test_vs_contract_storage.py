"""The VectorStore contract, storage side: opening and reopening, writes and deletes, tenant
isolation, and searches racing writes. Adapters: this folder's ``conftest.py``.
"""

from __future__ import annotations

import anyio
import pytest
from vs_contract_harness import (
    LOCAL_MODE_INDEX_WARNING_IGNORED,
    MODES,
    A,
    B,
    StoreFactory,
    axis,
    chunk,
    search,
    terms,
)

from ragline_common.errors import UpstreamUnavailable
from ragline_common.ids import chunk_point_id
from ragline_common.ports.vector_store import SearchMode, VectorStore
from ragline_common.tenancy import TenantId

pytestmark = LOCAL_MODE_INDEX_WARNING_IGNORED


class TestLifecycle:
    async def test_open_twice_keeps_data(self, store: VectorStore) -> None:
        await store.upsert(A, [chunk(A, "doc")])
        await store.open()
        assert await store.count(A) == 1

    async def test_data_survives_close_and_reopen(self, store_factory: StoreFactory) -> None:
        first = store_factory()
        await first.open()
        point = chunk(A, "doc", sparse=terms(4))
        await first.upsert(A, [point])
        await first.close()

        second = store_factory()
        await second.open()
        try:
            assert await second.count(A) == 1
            assert await search(second, A, "sparse", sparse=terms(4)) == [point.id]
            assert await second.list_chunks(A, "doc", limit=10, offset=0) == [point.payload]
        finally:
            await second.close()

    async def test_ping_answers_only_while_open(self, store_factory: StoreFactory) -> None:
        adapter = store_factory()
        with pytest.raises(UpstreamUnavailable):
            await adapter.ping()
        await adapter.open()
        await adapter.ping()
        await adapter.close()
        with pytest.raises(UpstreamUnavailable):
            await adapter.ping()
        await adapter.close()  # closing twice is harmless


class TestWrites:
    async def test_hit_carries_the_full_payload(self, store: VectorStore) -> None:
        point = chunk(A, "doc", sparse=terms(2), metadata={"lang": "en", "tags": ["a", "b"]})
        await store.upsert(A, [point])

        [hit] = await store.search(A, mode="dense", dense=axis(0), sparse=None, limit=5)

        assert hit.id == point.id
        assert hit.payload == point.payload
        assert hit.payload.heading_path == ("Guide", "Setup")

    async def test_upsert_refuses_a_batch_with_another_tenants_payload(
        self, store: VectorStore
    ) -> None:
        with pytest.raises(ValueError, match="tenant"):
            await store.upsert(A, [chunk(A, "doc"), chunk(B, "doc", 1)])
        assert await store.count(A) == 0
        assert await store.count(B) == 0

    async def test_upsert_refuses_wrong_dimension(self, store: VectorStore) -> None:
        with pytest.raises(ValueError, match="dimensions"):
            await store.upsert(A, [chunk(A, "doc", dense=[1.0, 0.0])])

    async def test_upsert_of_the_same_id_overwrites(self, store: VectorStore) -> None:
        await store.upsert(A, [chunk(A, "doc", text="first")])
        await store.upsert(A, [chunk(A, "doc", text="second")])

        assert await store.count(A) == 1
        [payload] = await store.list_chunks(A, "doc", limit=10, offset=0)
        assert payload.text == "second"

    async def test_delete_document_keeping_a_version(self, store: VectorStore) -> None:
        old = [chunk(A, "doc", i, version=1) for i in range(3)]
        new = [chunk(A, "doc", i, version=2) for i in range(2)]
        other = chunk(A, "other")
        await store.upsert(A, [*old, *new, other])

        await store.delete_document(A, "doc", keep_version=2)

        assert await store.list_chunks(A, "doc", limit=10, offset=0) == [p.payload for p in new]
        assert await store.count(A, "other") == 1

        await store.delete_document(A, "doc")
        assert await store.count(A, "doc") == 0
        assert await store.count(A) == 1

    async def test_pruning_keeps_versions_newer_than_the_kept_one(self, store: VectorStore) -> None:
        # Version 3 was written while version 2's prune was on its way: it must survive it.
        points = [chunk(A, "doc", i, version=v) for v in (1, 2, 3) for i in range(2)]
        await store.upsert(A, points)

        await store.delete_document(A, "doc", keep_version=2)

        listed = await store.list_chunks(A, "doc", limit=10, offset=0)
        assert [(p.version, p.chunk_index) for p in listed] == [(2, 0), (2, 1), (3, 0), (3, 1)]

    async def test_delete_tenant_removes_every_chunk_of_that_tenant_only(
        self, store: VectorStore
    ) -> None:
        await store.upsert(A, [chunk(A, "one"), chunk(A, "two", 1)])
        await store.upsert(B, [chunk(B, "one")])

        await store.delete_tenant(A)

        assert await store.count(A) == 0
        assert await store.count(B) == 1


class TestTenantIsolation:
    """Tenant B uses the same document ids and vectors as A, and must still see only its own."""

    @pytest.fixture
    async def populated(self, store: VectorStore) -> VectorStore:
        await store.upsert(A, [chunk(A, "shared", i, sparse=terms(1, i + 10)) for i in range(3)])
        await store.upsert(B, [chunk(B, "shared", 0, sparse=terms(1))])
        return store

    @pytest.mark.parametrize("mode", MODES)
    async def test_search_sees_own_points_only(
        self, populated: VectorStore, mode: SearchMode
    ) -> None:
        hits = await search(populated, B, mode, limit=50)
        assert hits == [chunk_point_id(B, "shared", 1, 0)]

    async def test_list_and_count_see_own_points_only(self, populated: VectorStore) -> None:
        listed = await populated.list_chunks(B, "shared", limit=50, offset=0)
        assert [p.tenant_id for p in listed] == [B]
        assert await populated.count(B) == 1
        assert await populated.count(B, "shared") == 1
        assert await populated.count(A, "shared") == 3

    async def test_deletes_do_not_reach_another_tenant(self, populated: VectorStore) -> None:
        await populated.delete_document(B, "shared")
        await populated.delete_tenant(B)
        assert await populated.count(A) == 3

    async def test_unknown_tenant_sees_nothing(self, populated: VectorStore) -> None:
        stranger = TenantId("tenant-c")
        for mode in MODES:
            assert await search(populated, stranger, mode) == []
        assert await populated.list_chunks(stranger, "shared", limit=10, offset=0) == []
        assert await populated.count(stranger) == 0


async def test_concurrent_searches_and_upserts_complete(store: VectorStore) -> None:
    await store.upsert(A, [chunk(A, "doc", i, sparse=terms(i)) for i in range(20)])
    results: list[int] = []

    async def searcher(n: int) -> None:
        hits = await search(store, A, MODES[n % 3], dense=axis(n), sparse=terms(n % 20), limit=5)
        results.append(len(hits))

    async def writer(n: int) -> None:
        await store.upsert(A, [chunk(A, "more", n, sparse=terms(n))])

    async with anyio.create_task_group() as group:
        for n in range(60):
            group.start_soon(searcher, n)
            if n % 6 == 0:
                group.start_soon(writer, n)

    assert len(results) == 60
    assert all(0 < count <= 5 for count in results)
    assert await store.count(A, "more") == 10
