"""The VectorStore contract, retiring side: ``drop()`` removes a model's whole index (issue 15).

After a reindex moved reads to another model, the operator drops the old index; the data must
be gone for every tenant (not merely hidden), and dropping twice must be harmless because the
drop command may be redelivered. Adapters: this folder's ``conftest.py``.
"""

from __future__ import annotations

import pytest
from vs_contract_harness import LOCAL_MODE_INDEX_WARNING_IGNORED, A, B, StoreFactory, chunk

from ragline_common.errors import UpstreamUnavailable

pytestmark = LOCAL_MODE_INDEX_WARNING_IGNORED


async def test_drop_removes_every_tenants_chunks(store_factory: StoreFactory) -> None:
    first = store_factory()
    await first.open()
    await first.upsert(A, [chunk(A, "doc-a")])
    await first.upsert(B, [chunk(B, "doc-b")])
    await first.drop()

    again = store_factory()
    await again.open()
    try:
        assert await again.count(A) == 0
        assert await again.count(B) == 0
        # The recreated index takes writes like a new one.
        await again.upsert(A, [chunk(A, "doc-a")])
        assert await again.count(A) == 1
    finally:
        await again.close()


async def test_drop_closes_the_store(store_factory: StoreFactory) -> None:
    adapter = store_factory()
    await adapter.open()
    await adapter.drop()
    with pytest.raises(UpstreamUnavailable):
        await adapter.ping()


async def test_dropping_twice_or_unopened_is_harmless(store_factory: StoreFactory) -> None:
    adapter = store_factory()
    await adapter.drop()  # never opened: nothing there to drop
    await adapter.open()
    await adapter.upsert(A, [chunk(A, "doc")])
    await adapter.drop()
    await adapter.drop()
