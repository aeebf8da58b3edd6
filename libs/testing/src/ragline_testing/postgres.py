"""Throwaway PostgreSQL databases on the local server, for suites and benchmarks that start
Ragline processes against a catalog of their own.

Uses ``asyncpg`` (the catalog's driver, present wherever the gateway is installed) and the
``postgres`` superuser over trust authentication, as the local services and CI provide.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

PG_HOST = "127.0.0.1"
PG_PORT = 5432


async def _run_sql(database: str, *statements: str) -> None:
    """``statements`` on ``database``, outside a transaction (as CREATE and DROP DATABASE
    need)."""
    import asyncpg  # type: ignore[import-untyped,unused-ignore]

    connection = await asyncpg.connect(user="postgres", host=PG_HOST, database=database)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


def create_database(name: str) -> None:
    asyncio.run(_run_sql("postgres", f'CREATE DATABASE "{name}"'))


def drop_database(name: str) -> None:
    """Drops it even while Ragline processes still hold connections to it."""
    asyncio.run(_run_sql("postgres", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def empty_public_schema(database: str) -> None:
    """Drop every table, type and migration record in ``database``, as if it were new."""
    await _run_sql(database, "DROP SCHEMA public CASCADE", "CREATE SCHEMA public")


def catalog_url(database: str) -> str:
    """The ``RAGLINE_CATALOG_URL`` of ``database``."""
    return f"postgresql+asyncpg://postgres@{PG_HOST}:{PG_PORT}/{database}"


@contextmanager
def scratch_database(prefix: str) -> Iterator[str]:
    """A new database named ``<prefix>_<random>``, dropped when the block ends."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    create_database(name)
    try:
        yield name
    finally:
        drop_database(name)
