"""Backpressure on uploads: refuse new work while the ingestion backlog is too deep.

The backlog is the catalog's unfinished jobs (published or still waiting for their tenant's
dispatch window; ADR 0008 keeps most of a backlog out of the broker), or the broker queue's
depth if that is larger. A replica reads it at most once a second, so a burst of uploads costs
one count, and may overshoot the threshold by what arrives within that second.
"""

from __future__ import annotations

import time

from ragline_common.errors import UpstreamUnavailable
from ragline_common.ports.broker import Broker
from ragline_common.ports.catalog import Catalog
from ragline_common.topology import QueueName
from ragline_gateway.metrics import REQUESTS_REFUSED

_SAMPLE_S = 1.0
_RETRY_AFTER_S = 30.0


class IngestBackpressure:
    def __init__(self, catalog: Catalog, broker: Broker, *, limit: int) -> None:
        self._catalog = catalog
        self._broker = broker
        self._limit = limit
        self._depth = 0
        self._sampled_at = float("-inf")

    async def depth(self) -> int:
        now = time.monotonic()
        if now - self._sampled_at >= _SAMPLE_S:
            unfinished = await self._catalog.count_unfinished_jobs()
            try:
                queued = await self._broker.queue_depth(QueueName.INGESTION)
            except UpstreamUnavailable:
                queued = 0  # the upload itself is still durable in the catalog
            self._depth = max(unfinished, queued)
            self._sampled_at = now
        return self._depth

    async def check(self) -> None:
        """Raise ``UpstreamUnavailable`` (503 + Retry-After) when the backlog is full."""
        if await self.depth() >= self._limit:
            REQUESTS_REFUSED.labels("backlog").inc()
            raise UpstreamUnavailable(
                "The ingestion backlog is full; retry the upload later.",
                retry_after_s=_RETRY_AFTER_S,
                code="ingestion_backlog_full",
            )
