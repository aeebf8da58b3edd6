"""Fixtures for unit tests of gateway code that needs a real catalog and broker, not a fake.

A migrated SQLite catalog in the test's own folder and the in-process broker: both start in
milliseconds. The catalog itself is tested on every backend in ``catalog/``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ragline_common.adapters.broker.memory import MemoryBroker
from ragline_gateway.adapters.catalog import SqlCatalog


@pytest.fixture
async def catalog(tmp_path: Path) -> AsyncIterator[SqlCatalog]:
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
