"""Fixtures of the catalog suite: every behavioural test runs on SQLite and on PostgreSQL.

PostgreSQL tests get one fresh, uniquely named database per session (dropped at the end) and an
empty ``public`` schema per test, so each test starts from nothing and migrations really run.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from ragline_gateway.adapters.catalog import SqlCatalog
from ragline_testing.harness import require_service
from ragline_testing.postgres import (
    PG_HOST,
    PG_PORT,
    catalog_url,
    empty_public_schema,
    scratch_database,
)


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """Name of a database created for this test session and dropped after it."""
    require_service(PG_HOST, PG_PORT, "PostgreSQL")
    with scratch_database("ragline_catalog") as name:
        yield name


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.integration),
    ]
)
def backend(request: pytest.FixtureRequest) -> str:
    """Which database the test runs on (sync, so the session database is made outside a loop)."""
    if request.param == "postgresql":
        request.getfixturevalue("postgres_database")
    return str(request.param)


@pytest.fixture
async def database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """SQLAlchemy URL of an empty database: no tables, no migration history."""
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'data' / 'catalog.db'}"
    name: str = request.getfixturevalue("postgres_database")
    await empty_public_schema(name)
    return catalog_url(name)


@pytest.fixture
async def catalog(database_url: str) -> AsyncIterator[SqlCatalog]:
    opened = SqlCatalog(database_url, pool_size=5)
    await opened.open()
    yield opened
    await opened.close()
