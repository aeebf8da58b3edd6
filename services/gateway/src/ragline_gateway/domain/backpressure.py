"""Backpressure on uploads: refuse new work while the ingestion backlog is too deep.

Two thresholds, checked in this order at every door (REST and the queue drop):

- a tenant's own share: its unfinished jobs in the catalog against ``tenant_limit`` (by default a
  quarter of the whole backlog). A tenant over it is refused with ``429`` and Retry-After, as
  for any other limit of its own, and everybody else's uploads are still accepted. Without it
  one tenant's flood filled the global backlog and every tenant got 503.
- the whole backlog: the catalog's unfinished jobs (published or still waiting for their
  tenant's dispatch window; ADR 0008 keeps most of a backlog out of the broker), or the broker
  queue's depth if that is larger. Past ``limit`` everyone gets 503 + Retry-After.

The tenant's count is exact (one indexed count per upload: the check must hold for a burst of
one tenant's uploads). The global depth is read at most once a second per replica, so a burst
of uploads costs one count, and may overshoot the threshold by what arrives within that second.
"""

from __future__ import annotations

import math
import time

from ragline_common.errors import RateLimited, UpstreamUnavailable
from ragline_common.ports.broker import Broker
from ragline_common.tenancy import TenantId
from ragline_common.topology import QueueName
from ragline_gateway.metrics import REQUESTS_REFUSED
from ragline_gateway.ports.catalog import DispatchQueue

_SAMPLE_S = 1.0
_RETRY_AFTER_S = 30.0
DEFAULT_TENANT_SHARE = 0.25
"""Fraction of the global backlog one tenant may hold unless a ``tenant_limit`` is given: four
flooding tenants are needed to fill it, and a single one never can."""


class IngestBackpressure:
    def __init__(
        self, catalog: DispatchQueue, broker: Broker, *, limit: int, tenant_limit: int | None = None
    ) -> None:
        self._catalog = catalog
        self._broker = broker
        self._limit = limit
        self._tenant_limit = (
            tenant_limit
            if tenant_limit is not None
            else max(1, math.ceil(limit * DEFAULT_TENANT_SHARE))
        )
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

    async def check(self, tenant_id: TenantId) -> None:
        """Raise ``RateLimited`` (429) when the tenant holds its share of the backlog, and
        ``UpstreamUnavailable`` (503) when the whole backlog is full; both carry Retry-After."""
        if await self._catalog.count_tenant_unfinished_jobs(tenant_id) >= self._tenant_limit:
            REQUESTS_REFUSED.labels("tenant_backlog").inc()
            raise RateLimited(
                f"The tenant's share of the ingestion backlog ({self._tenant_limit} documents "
                "waiting to be indexed) is full; retry the upload once some are done.",
                retry_after_s=_RETRY_AFTER_S,
                code="tenant_backlog_full",
            )
        if await self.depth() >= self._limit:
            REQUESTS_REFUSED.labels("backlog").inc()
            raise UpstreamUnavailable(
                "The ingestion backlog is full; retry the upload later.",
                retry_after_s=_RETRY_AFTER_S,
                code="ingestion_backlog_full",
            )
