"""Coalescing the job status events that arrive together into one catalog transaction.

Every document sends two events (``processing``, then ``indexed`` or ``failed``), and applying
each in a transaction of its own was most of the gateway's CPU while a worker indexed small
documents. :class:`CoalescingStatusApplier` sends the first event at once and, while its
transaction runs, gathers the events that arrive meanwhile for the next: no event waits for a
timer, and under load one transaction serves a whole prefetch window.

If a batch fails, its events are applied one by one, so one event the database refuses fails
only its own delivery (which is then retried or dead-lettered on its own). An outage is
different: every event would fail again, each after its own connect timeout, so the whole batch
fails at once with ``UpstreamUnavailable`` and each delivery is retried later (by ``settle()``).
"""

from __future__ import annotations

import asyncio
import contextvars

from ragline_common.errors import UpstreamUnavailable
from ragline_gateway.ports.catalog import JobStatusLedger, JobStatusUpdate

_MAX_BATCH = 256


class CoalescingStatusApplier:
    def __init__(self, catalog: JobStatusLedger, *, max_batch: int = _MAX_BATCH) -> None:
        self._catalog = catalog
        self._max_batch = max_batch
        self._pending: list[tuple[JobStatusUpdate, asyncio.Future[bool]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def apply(self, update: JobStatusUpdate) -> bool:
        """Apply one event (batched with concurrent ones); whether it changed the job."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bool] = loop.create_future()
        self._pending.append((update, future))
        if self._flusher is None:
            # An empty context: the flusher serves every caller's event, not the first one's
            # trace or log fields.
            self._flusher = loop.create_task(
                self._flush_while_pending(),
                name="job-status-batches",
                context=contextvars.Context(),
            )
        return await future

    async def _flush_while_pending(self) -> None:
        try:
            while self._pending:
                batch = self._pending[: self._max_batch]
                del self._pending[: self._max_batch]
                await self._apply_batch(batch)
        finally:
            self._flusher = None
            for _, future in self._pending:
                future.cancel()  # only if this task itself was cancelled (shutdown)
            self._pending.clear()

    async def _apply_batch(self, batch: list[tuple[JobStatusUpdate, asyncio.Future[bool]]]) -> None:
        live = [(update, future) for update, future in batch if not future.done()]
        if not live:
            return
        try:
            results = await self._catalog.apply_job_statuses([update for update, _ in live])
        except UpstreamUnavailable as exc:
            for _, future in live:
                _settle_exception(future, exc)
            return
        except Exception as exc:
            if len(live) == 1:
                _settle_exception(live[0][1], exc)
                return
            for entry in live:
                await self._apply_batch([entry])
            return
        for (_, future), changed in zip(live, results, strict=True):
            if not future.done():
                future.set_result(changed)


def _settle_exception(future: asyncio.Future[bool], exc: Exception) -> None:
    if not future.done():
        future.set_exception(exc)
