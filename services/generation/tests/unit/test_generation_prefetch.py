"""Prefetched: the first item is fetched at once, and closing stops a fetch still running."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

import pytest

from ragline_generation.domain.prefetch import Prefetched


async def test_the_first_item_is_fetched_before_anyone_asks() -> None:
    started = asyncio.Event()

    async def source() -> AsyncGenerator[int, None]:
        started.set()
        yield 1
        yield 2

    items = Prefetched(source())
    await asyncio.wait_for(started.wait(), timeout=1)  # running before the first __anext__

    assert [item async for item in items] == [1, 2]


async def test_closing_while_the_first_fetch_waits_cancels_it_and_runs_cleanup() -> None:
    cleaned = asyncio.Event()

    async def source() -> AsyncGenerator[int, None]:
        try:
            await asyncio.sleep(60)  # a model that has not answered yet
            yield 1
        finally:
            cleaned.set()

    items = Prefetched(source())
    await asyncio.sleep(0.01)
    await asyncio.wait_for(items.aclose(), timeout=1)

    assert cleaned.is_set()


async def test_a_failure_of_the_first_fetch_surfaces_on_iteration() -> None:
    async def source() -> AsyncGenerator[int, None]:
        raise RuntimeError("model down")
        yield 1  # pragma: no cover

    items = Prefetched(source())
    with pytest.raises(RuntimeError, match="model down"):
        await anext(items)
    await items.aclose()
