"""Fixtures shared by the gateway's test folders."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from ragline_common.adapters.broker.memory import MemoryBroker
from ragline_common.observability import messaging
from ragline_gateway.adapters.catalog import SqlCatalog
from ragline_gateway.domain import job_trace
from ragline_testing.harness import SpanRecorder, recording_spans


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Iterator[SpanRecorder]:
    """The consumer and dispatch spans (and the test's own) in one in-memory exporter."""
    with recording_spans(monkeypatch, messaging, job_trace) as recording:
        yield recording


@pytest.fixture
async def sqlite_catalog(tmp_path: Path) -> AsyncIterator[SqlCatalog]:
    """A migrated SQLite catalog in the test's folder (``catalog.db``), starting in milliseconds."""
    catalog = SqlCatalog(f"sqlite+aiosqlite:///{tmp_path / 'catalog.db'}", pool_size=1)
    await catalog.open()
    yield catalog
    await catalog.close()


@pytest.fixture
async def broker() -> AsyncIterator[MemoryBroker]:
    # A test that leaves a delivery unsettled should not hold shutdown for the default grace.
    broker = MemoryBroker(close_timeout_s=1.0)
    await broker.start()
    yield broker
    await broker.close()
