"""Fixtures of the catalog suite: every behavioural test runs on SQLite and on PostgreSQL.

PostgreSQL tests get one fresh, uniquely named database per session (dropped at the end) and an
empty ``public`` schema per test, so each test starts from nothing and migrations really run.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from ragline_gateway.adapters.catalog import SqlCatalog
from ragline_testing.harness import require_service

PG_HOST = "127.0.0.1"
PG_PORT = 5432


def pg_url(database: str) -> str:
    return f"postgresql+asyncpg://postgres@{PG_HOST}:{PG_PORT}/{database}"


async def _run_sql(database: str, *statements: str) -> None:
    """Run statements outside a transaction (CREATE/DROP DATABASE refuse to run inside one)."""
    engine = create_async_engine(pg_url(database), isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            for statement in statements:
                await connection.execute(text(statement))
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """Name of a database created for this test session and dropped after it."""
    require_service(PG_HOST, PG_PORT, "PostgreSQL")
    name = f"ragline_catalog_{uuid.uuid4().hex[:12]}"
    asyncio.run(_run_sql("postgres", f'CREATE DATABASE "{name}"'))
    yield name
    asyncio.run(_run_sql("postgres", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


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
    await _run_sql(name, "DROP SCHEMA public CASCADE", "CREATE SCHEMA public")
    return pg_url(name)


@pytest.fixture
async def catalog(database_url: str) -> AsyncIterator[SqlCatalog]:
    opened = SqlCatalog(database_url, pool_size=5)
    await opened.open()
    yield opened
    await opened.close()
