"""Job status events that arrive together share one catalog call; a bad one fails alone."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

import pytest

from ragline_common.messages import JobStatus
from ragline_common.tenancy import TenantId
from ragline_gateway.domain.status_batches import CoalescingStatusApplier
from ragline_gateway.ports.catalog import JobStatusUpdate

TENANT = TenantId("ten_a")


class RecordingCatalog:
    """Records each batch; holds calls at a gate; refuses any batch holding ``poison``."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.entered = asyncio.Event()

    async def apply_job_statuses(self, updates: Sequence[JobStatusUpdate]) -> list[bool]:
        self.batches.append([update.job_id for update in updates])
        self.entered.set()
        await self.gate.wait()
        if any(update.job_id == "poison" for update in updates):
            raise ValueError("the database refused it")
        return [update.status is JobStatus.INDEXED for update in updates]


def _event(job_id: str, status: JobStatus = JobStatus.INDEXED) -> JobStatusUpdate:
    return JobStatusUpdate(TENANT, job_id, status)


def _applier(catalog: RecordingCatalog) -> CoalescingStatusApplier:
    fake: Any = catalog  # only apply_job_statuses is used
    return CoalescingStatusApplier(fake)


async def test_the_first_event_goes_at_once_and_those_arriving_meanwhile_go_together() -> None:
    catalog = RecordingCatalog()
    catalog.gate.clear()
    applier = _applier(catalog)
    first = asyncio.create_task(applier.apply(_event("j1")))
    await catalog.entered.wait()
    later = [
        asyncio.create_task(applier.apply(_event(f"j{i}", JobStatus.PROCESSING)))
        for i in range(2, 6)
    ]
    await asyncio.sleep(0.01)
    catalog.gate.set()
    assert await first is True
    assert await asyncio.gather(*later) == [False] * 4
    assert catalog.batches == [["j1"], ["j2", "j3", "j4", "j5"]]


async def test_a_refused_batch_is_retried_one_by_one_and_only_the_bad_event_fails() -> None:
    catalog = RecordingCatalog()
    catalog.gate.clear()
    applier = _applier(catalog)
    first = asyncio.create_task(applier.apply(_event("j1")))
    await catalog.entered.wait()
    good = asyncio.create_task(applier.apply(_event("j2")))
    bad = asyncio.create_task(applier.apply(_event("poison")))
    catalog.gate.set()
    assert await first is True
    assert await good is True
    with pytest.raises(ValueError, match="refused"):
        await bad
    assert catalog.batches == [["j1"], ["j2", "poison"], ["j2"], ["poison"]]


async def test_a_batch_is_capped_and_no_task_outlives_the_work() -> None:
    catalog = RecordingCatalog()
    catalog.gate.clear()
    fake: Any = catalog
    applier = CoalescingStatusApplier(fake, max_batch=2)
    calls = [asyncio.create_task(applier.apply(_event(f"j{i}"))) for i in range(5)]
    await catalog.entered.wait()
    catalog.gate.set()
    await asyncio.gather(*calls)
    assert [len(batch) for batch in catalog.batches] == [2, 2, 1]
    await asyncio.sleep(0)
    assert not [task for task in asyncio.all_tasks() if task.get_name() == "job-status-batches"]


async def test_events_arriving_one_by_one_under_load_share_the_next_transaction() -> None:
    """A worker reports one event at a time; within the spacing they wait for company."""
    catalog = RecordingCatalog()
    fake: Any = catalog
    applier = CoalescingStatusApplier(fake, spacing_s=0.5)
    assert await applier.apply(_event("j1")) is True  # the catalog was idle: at once
    second = asyncio.create_task(applier.apply(_event("j2")))
    await asyncio.sleep(0.02)
    third = asyncio.create_task(applier.apply(_event("j3")))
    assert await asyncio.gather(second, third) == [True, True]
    assert catalog.batches == [["j1"], ["j2", "j3"]]


async def test_after_the_spacing_an_event_goes_at_once() -> None:
    catalog = RecordingCatalog()
    fake: Any = catalog
    applier = CoalescingStatusApplier(fake, spacing_s=0.2)
    await applier.apply(_event("j1"))
    await asyncio.sleep(0.25)
    started = time.monotonic()
    await applier.apply(_event("j2"))
    assert time.monotonic() - started < 0.15
    assert catalog.batches == [["j1"], ["j2"]]
