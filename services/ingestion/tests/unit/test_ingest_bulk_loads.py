"""A reindex's writes are one bulk load per index, ended once the rebuild goes quiet."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from ragline_ingestion.domain.bulk_loads import IdleBulkLoads

IDLE_S = 0.2


class LoadRecorder:
    """The part of a vector store a bulk load touches: when loads start and end."""

    def __init__(self, *, fail_at_end: bool = False) -> None:
        self.events: list[str] = []
        self._fail_at_end = fail_at_end

    @asynccontextmanager
    async def bulk_load(self) -> AsyncIterator[None]:
        self.events.append("start")
        yield
        if self._fail_at_end:
            raise ConnectionError("store closed meanwhile")
        self.events.append("end")


async def test_writes_in_a_row_share_one_load_that_ends_when_they_stop() -> None:
    store = LoadRecorder()
    async with IdleBulkLoads(idle_s=IDLE_S) as loads:
        for _ in range(5):
            await loads.touch(store)  # type: ignore[arg-type]
            await asyncio.sleep(IDLE_S / 4)
        assert store.events == ["start"]  # still writing: the index is not built yet
        await asyncio.sleep(IDLE_S * 2)
        assert store.events == ["start", "end"]  # quiet: built once

        await loads.touch(store)  # type: ignore[arg-type]
        assert store.events == ["start", "end", "start"]  # a later rebuild: a new load
    assert store.events == ["start", "end", "start", "end"]  # the worker stopping ends it


async def test_each_store_has_its_own_load() -> None:
    first, second = LoadRecorder(), LoadRecorder()
    async with IdleBulkLoads(idle_s=IDLE_S) as loads:
        await loads.touch(first)  # type: ignore[arg-type]
        await asyncio.sleep(IDLE_S / 2)
        await loads.touch(second)  # type: ignore[arg-type]
        await asyncio.sleep(IDLE_S * 0.75)
        assert (first.events, second.events) == (["start", "end"], ["start"])
    assert second.events == ["start", "end"]


async def test_a_load_that_cannot_end_is_logged_not_raised() -> None:
    store = LoadRecorder(fail_at_end=True)
    async with IdleBulkLoads(idle_s=IDLE_S) as loads:
        await loads.touch(store)  # type: ignore[arg-type]
        await asyncio.sleep(IDLE_S * 2)  # ends in the background, failing quietly
        await loads.touch(store)  # type: ignore[arg-type]
    assert store.events == ["start", "start"]


async def test_writes_after_the_worker_stopped_are_not_batched() -> None:
    store = LoadRecorder()
    loads = IdleBulkLoads(idle_s=IDLE_S)
    await loads.touch(store)  # type: ignore[arg-type]
    await loads.aclose()
    await loads.touch(store)  # type: ignore[arg-type]
    assert store.events == ["start", "end"]


async def test_concurrent_first_writes_open_one_load() -> None:
    store = LoadRecorder()
    async with IdleBulkLoads(idle_s=IDLE_S) as loads:
        await asyncio.gather(*(loads.touch(store) for _ in range(8)))  # type: ignore[arg-type]
        assert store.events == ["start"]
