"""Coalescing the job status events that arrive together into one catalog transaction.

Every document sends two events (``processing``, then ``indexed`` or ``failed``), and applying
each in a transaction of its own was most of the gateway's CPU while a worker indexed small
documents. :class:`CoalescingStatusApplier` sends an event at once when the catalog has been
idle, and otherwise gathers the events that arrive while a transaction runs, or until
:data:`SPACING_S` after the last one started, for the next: at most one transaction per spacing.
A worker indexing small documents reports every few tens of milliseconds, each event alone in a
transaction while they were sent on arrival (the catalog work of a batch is mostly its round
trips, not its rows); spaced, a transaction serves several, and a status shows at most
:data:`SPACING_S` later. The jobs those events finish are dispatched together too (see
``JobDispatcher.dispatch``), one round for the freed slots.

If a batch fails, its events are applied one by one, so one event the database refuses fails
only its own delivery (which is then retried or dead-lettered on its own). An outage is
different: every event would fail again, each after its own connect timeout, so the whole batch
fails at once with ``UpstreamUnavailable`` and each delivery is retried later (by ``settle()``).
"""

from __future__ import annotations

import asyncio
import contextvars
import time

from ragline_common.errors import UpstreamUnavailable
from ragline_gateway.ports.catalog import JobStatusLedger, JobStatusUpdate

_MAX_BATCH = 256
SPACING_S = 0.1
"""The least time between the starts of two catalog transactions of events (see the module)."""


class CoalescingStatusApplier:
    def __init__(
        self, catalog: JobStatusLedger, *, max_batch: int = _MAX_BATCH, spacing_s: float = SPACING_S
    ) -> None:
        self._catalog = catalog
        self._max_batch = max_batch
        self._spacing_s = spacing_s
        self._pending: list[tuple[JobStatusUpdate, asyncio.Future[bool]]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._last_start = -spacing_s  # monotonic: the first event goes at once

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
                wait = self._last_start + self._spacing_s - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)  # events arriving meanwhile join this batch
                self._last_start = time.monotonic()
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
