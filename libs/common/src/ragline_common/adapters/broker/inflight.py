"""Handler runs in flight, so that ``close()`` can let them finish, but only for so long."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine

import structlog

_log = structlog.get_logger(__name__)


class InFlight:
    """Owns the tasks running handlers (and keeps them referenced until they finish).

    A handler still running when the grace period ends is cancelled: its message is never acked,
    so the broker hands it to another consumer (RabbitMQ) or it is dropped with the process
    (in-memory mode, which has no durability by design).
    """

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def __len__(self) -> int:
        return len(self._tasks)

    def spawn(self, work: Coroutine[object, object, None]) -> asyncio.Task[None]:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def drain(self, grace_s: float) -> None:
        """Wait up to ``grace_s`` for running handlers, then cancel the stragglers."""
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=grace_s)
        if pending:
            _log.warning("broker_handlers_cancelled", count=len(pending), grace_s=grace_s)
            for task in pending:
                task.cancel()
            # Bounded too: a handler that swallows cancellation must not hang the shutdown.
            await asyncio.wait(pending, timeout=grace_s)
