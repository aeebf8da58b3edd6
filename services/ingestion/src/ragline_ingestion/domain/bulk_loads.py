"""Reindex writes as bulk loads: the vector index is built once a rebuild goes quiet.

A reindex sends every live document version to a new model's index, as one message each, and
no message knows which is the last. Building HNSW while thousands of points arrive is wasted
work (Qdrant rebuilds graphs as segments merge), and nobody searches an index that is still
building. So the first reindex write to an index opens the store's ``bulk_load`` (on a server:
indexing threshold 0; on Edge: the optimizer runs once at its end), and the load stays open
while tasks keep coming; :data:`IDLE_S` after the last one it ends and the index is built once.
Searches are right throughout: points not yet in a graph are scored exactly.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from contextlib import AsyncExitStack
from dataclasses import dataclass

import structlog

from ragline_common.ports.vector_store import VectorStore

IDLE_S = 5.0
"""Longer than the gap between two tasks of a running reindex (the dispatcher refills a
tenant's window as each finishes), short enough that a finished rebuild is indexed at once."""

_log = structlog.get_logger(__name__)


@dataclass
class _Load:
    stack: AsyncExitStack
    last_write: float


class IdleBulkLoads:
    """One bulk load per store while writes keep arriving; ended :data:`IDLE_S` after the last.

    Each load's end waits in a task of its own (plain asyncio tasks, not a task group: the
    host opens components in one task and closes them in another). :meth:`aclose` ends every
    load still open (the worker is stopping); writes after it go on unbatched.
    """

    def __init__(self, *, idle_s: float = IDLE_S) -> None:
        self._idle_s = idle_s
        self._loads: dict[int, _Load] = {}
        self._closers: set[asyncio.Task[None]] = set()
        self._lock = asyncio.Lock()
        self._closed = False

    async def __aenter__(self) -> IdleBulkLoads:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        self._closed = True
        for closer in list(self._closers):
            closer.cancel()
        for closer in list(self._closers):
            with contextlib.suppress(asyncio.CancelledError):
                await closer
        async with self._lock:
            loads, self._loads = list(self._loads.values()), {}
        for load in loads:
            await _end(load)

    async def touch(self, store: VectorStore) -> None:
        """A reindex write to ``store`` is about to happen: keep (or start) its bulk load."""
        now = time.monotonic()
        async with self._lock:
            load = self._loads.get(id(store))
            if load is not None:
                load.last_write = now
                return
            if self._closed:
                return
            stack = AsyncExitStack()
            await stack.enter_async_context(store.bulk_load())
            load = _Load(stack, now)
            self._loads[id(store)] = load
            closer = asyncio.create_task(self._end_when_idle(id(store), load), name="bulk-load")
            self._closers.add(closer)
            closer.add_done_callback(self._closers.discard)
        _log.info("bulk_load_started")

    async def _end_when_idle(self, key: int, load: _Load) -> None:
        while True:
            await asyncio.sleep(max(0.0, load.last_write + self._idle_s - time.monotonic()))
            async with self._lock:
                if time.monotonic() - load.last_write < self._idle_s:
                    continue
                if self._loads.get(key) is not load:
                    return  # aclose took it
                del self._loads[key]
            break
        await _end(load)


async def _end(load: _Load) -> None:
    """End one load; a store closed or dropped meanwhile has nothing left to build."""
    try:
        await load.stack.aclose()
    except Exception as exc:
        _log.warning("bulk_load_end_failed", error=type(exc).__name__)
    else:
        _log.info("bulk_load_ended")


__all__ = ["IDLE_S", "IdleBulkLoads"]
