"""A batch of status events that meets a catalog outage fails as a whole, at once (defect 4).

Falling back to one event at a time is for an event the database refuses; during an outage
every one of them would fail too, each after its own connect timeout (five seconds against a
PostgreSQL that is failing over), and the whole prefetch window would wait behind them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest

from ragline_common.errors import UpstreamUnavailable
from ragline_common.messages import JobStatus
from ragline_common.tenancy import TenantId
from ragline_gateway.domain.status_batches import CoalescingStatusApplier
from ragline_gateway.ports.catalog import JobStatusUpdate

TENANT = TenantId("ten_a")


class CatalogDown:
    """Counts calls; every one fails as a database outage does."""

    def __init__(self) -> None:
        self.calls = 0
        self.gate = asyncio.Event()

    async def apply_job_statuses(self, updates: Sequence[JobStatusUpdate]) -> list[bool]:
        self.calls += 1
        await self.gate.wait()
        raise UpstreamUnavailable("The catalog database is unavailable.")


async def test_an_outage_fails_every_event_of_the_batch_with_one_catalog_call() -> None:
    catalog = CatalogDown()
    fake: Any = catalog
    applier = CoalescingStatusApplier(fake)
    first = asyncio.create_task(applier.apply(JobStatusUpdate(TENANT, "j0", JobStatus.INDEXED)))
    await asyncio.sleep(0)
    waiting = [
        asyncio.create_task(applier.apply(JobStatusUpdate(TENANT, f"j{i}", JobStatus.INDEXED)))
        for i in range(1, 6)
    ]
    await asyncio.sleep(0)
    catalog.gate.set()
    for task in [first, *waiting]:
        with pytest.raises(UpstreamUnavailable):
            await task
    # The first event alone, then the five that waited together: no one-by-one retries.
    assert catalog.calls == 2
