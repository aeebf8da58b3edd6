"""Start fetching an async iterator's first item now, and iterate it normally later.

The streamed answer yields the sources event before any model token; with a plain generator
the model call would only go out once the consumer asked for the next item, after the sources
had travelled through every hop. Prefetching puts the call on the wire while they travel.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Generic, TypeVar

T = TypeVar("T")


class Prefetched(Generic[T]):
    def __init__(self, source: AsyncGenerator[T, None]) -> None:
        self._source = source
        self._first: asyncio.Future[T] | None = asyncio.ensure_future(anext(source))

    def __aiter__(self) -> Prefetched[T]:
        return self

    async def __anext__(self) -> T:
        if self._first is not None:
            first, self._first = self._first, None
            return await first  # a cancelled consumer cancels the fetch too
        return await anext(self._source)

    async def aclose(self) -> None:
        """Stop the fetch if it still runs, then close the source (its ``finally`` runs now)."""
        if self._first is not None:
            first, self._first = self._first, None
            first.cancel()
            # wait() never raises the fetch's own outcome; a cancellation of ours still does.
            await asyncio.wait([first])
            if not first.cancelled():
                first.exception()  # retrieved: no "exception was never retrieved" warning
        await self._source.aclose()
