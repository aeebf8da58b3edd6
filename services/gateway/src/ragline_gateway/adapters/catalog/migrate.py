"""Bring the catalog schema to the latest Alembic revision, from inside the process.

Every gateway replica calls this at start-up, so there is no separate migration job to forget.
On PostgreSQL the upgrade runs in one transaction that first takes a transaction-scoped advisory
lock: replicas starting together queue up on the lock, and each later one finds the schema
already at head and does nothing. DDL is transactional there, so a replica killed half-way leaves
no half-built schema. SQLite is single-host; its ``BEGIN IMMEDIATE`` serialises writers already.
"""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

_SCRIPT_LOCATION = "ragline_gateway.adapters.catalog:migrations"
_MIGRATION_LOCK_KEY = 0x5247_4C4E_4341_5447
"""Arbitrary 64-bit key of the advisory lock ("RGLNCATG"); shared by every replica."""


def _upgrade(connection: Connection) -> None:
    config = Config()
    config.set_main_option("script_location", _SCRIPT_LOCATION)
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def upgrade_to_head(engine: AsyncEngine) -> None:
    """Apply every pending migration; a no-op when the schema is current."""
    async with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            await connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY}
            )
        await connection.run_sync(_upgrade)
