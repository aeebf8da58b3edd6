"""Scratch databases exist inside their block and are gone after it, even if it fails."""

from __future__ import annotations

import asyncio

import asyncpg  # type: ignore[import-untyped,unused-ignore]
import pytest

from ragline_testing.harness import require_service
from ragline_testing.postgres import PG_HOST, PG_PORT, scratch_database

pytestmark = pytest.mark.integration


async def _databases_named(name: str) -> int:
    connection = await asyncpg.connect(user="postgres", host=PG_HOST, database="postgres")
    try:
        count: int = await connection.fetchval(
            "SELECT count(*) FROM pg_database WHERE datname = $1", name
        )
        return count
    finally:
        await connection.close()


def test_a_scratch_database_lives_only_as_long_as_its_block() -> None:
    require_service(PG_HOST, PG_PORT, "PostgreSQL")
    names: list[str] = []

    def fail_inside() -> None:
        with scratch_database("ragline_scratch") as name:
            names.append(name)
            assert asyncio.run(_databases_named(name)) == 1
            raise RuntimeError("a failure inside the block")

    with pytest.raises(RuntimeError, match="inside"):
        fail_inside()

    (name,) = names
    assert name.startswith("ragline_scratch_")
    assert asyncio.run(_databases_named(name)) == 0
