"""Fixtures shared by the gateway's test folders."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from gw_spans import Recorder, recording

from ragline_common.adapters.broker.memory import MemoryBroker
from ragline_gateway.adapters.catalog import SqlCatalog


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Iterator[Recorder]:
    yield from recording(monkeypatch)


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
