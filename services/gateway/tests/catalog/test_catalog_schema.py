"""Schema, engine set-up and outage handling of the SQL catalog."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from ragline_common.errors import UpstreamUnavailable
from ragline_common.tenancy import TenantId
from ragline_gateway.adapters.catalog import SqlCatalog
from ragline_gateway.adapters.catalog.tables import metadata

UNREACHABLE_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:1/ragline"
"""Nothing listens on port 1: the driver gets "connection refused" at once."""


def _schema_differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    differences: list[Any] = compare_metadata(context, metadata)
    return differences


async def test_migrations_build_exactly_the_schema_the_queries_use(
    catalog: SqlCatalog, database_url: str
) -> None:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            differences = await connection.run_sync(_schema_differences)
    finally:
        await engine.dispose()

    assert differences == []


async def test_sqlite_catalog_uses_wal_and_creates_its_directory(tmp_path: Path) -> None:
    database = tmp_path / "nested" / "dir" / "catalog.db"
    catalog = SqlCatalog(f"sqlite+aiosqlite:///{database}", pool_size=1)
    await catalog.open()
    await catalog.close()

    with sqlite3.connect(database) as connection:
        (journal_mode,) = connection.execute("PRAGMA journal_mode").fetchone()
    assert journal_mode == "wal"


@pytest.mark.parametrize(
    "url",
    [
        "mysql+aiomysql://root@127.0.0.1/ragline",
        "postgresql+psycopg2://postgres@127.0.0.1/ragline",
        "sqlite+aiosqlite:///:memory:",
        "sqlite+aiosqlite://",
    ],
)
def test_unsupported_urls_are_refused_at_construction(url: str) -> None:
    with pytest.raises(ValueError, match="catalog"):
        SqlCatalog(url, pool_size=1)


async def test_an_unreachable_database_is_reported_as_upstream_unavailable() -> None:
    catalog = SqlCatalog(UNREACHABLE_POSTGRES, pool_size=1)
    try:
        with pytest.raises(UpstreamUnavailable):
            await catalog.open()
        with pytest.raises(UpstreamUnavailable):
            await catalog.ping()
        with pytest.raises(UpstreamUnavailable):
            await catalog.get_tenant(TenantId("ten_x"))
        with pytest.raises(UpstreamUnavailable):
            await catalog.create_tenant("acme")
    finally:
        await catalog.close()
