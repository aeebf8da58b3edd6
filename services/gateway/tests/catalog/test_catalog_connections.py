"""How the catalog uses its PostgreSQL connections: reads outside transactions, and pooled
connections that the server dropped replaced without an error reaching the caller."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from ragline_gateway.adapters.catalog import SqlCatalog, engine
from ragline_gateway.adapters.catalog.engine import for_reading, for_writing

pytestmark = pytest.mark.integration


@pytest.fixture
def backend(postgres_database: str) -> str:
    """PostgreSQL only: SQLite has no server to drop connections or round trips to save."""
    return "postgresql"


async def _terminate_other_sessions(database_url: str) -> int:
    """Kill every server session on the catalog's database, as a PostgreSQL restart would."""
    outsider = create_async_engine(database_url, isolation_level="AUTOCOMMIT")
    try:
        async with outsider.connect() as connection:
            killed = await connection.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
            return int(killed.scalar_one())
    finally:
        await outsider.dispose()


async def _now_twice(connection: AsyncConnection) -> bool:
    """Whether ``now()`` stays the same across two statements 10 ms apart."""
    first = (await connection.execute(text("SELECT now()"))).scalar_one()
    await connection.execute(text("SELECT pg_sleep(0.01)"))
    return bool((await connection.execute(text("SELECT now()"))).scalar_one() == first)


async def test_reads_run_outside_a_transaction_and_writes_inside_one(
    catalog: SqlCatalog, database_url: str
) -> None:
    base = create_async_engine(database_url)
    try:
        # A transaction's now() is fixed when it begins: two reads on one read connection see
        # two times (each statement is its own transaction, no BEGIN/ROLLBACK round trips),
        # two statements of one write transaction see one.
        async with for_reading(base).connect() as connection:
            assert await _now_twice(connection) is False
        async with for_writing(base).begin() as connection:
            assert await _now_twice(connection) is True
    finally:
        await base.dispose()
    tenant = await catalog.create_tenant("reads")
    assert await catalog.get_tenant(tenant.id) == tenant


async def test_a_connection_dropped_while_idle_is_replaced_without_an_error(
    catalog: SqlCatalog, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = await catalog.create_tenant("survivor")
    monkeypatch.setattr(engine, "PING_AFTER_IDLE_S", 0.0)
    assert await _terminate_other_sessions(database_url) >= 1
    # Every pooled connection is dead now; the ping at checkout notices, and the pool
    # connects anew instead of handing the caller a broken connection.
    assert await catalog.get_tenant(tenant.id) == tenant
    assert (await catalog.create_tenant("after")).name == "after"


async def test_without_the_idle_ping_a_dropped_connection_fails_once_then_recovers(
    catalog: SqlCatalog, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The trade made for busy pools: within the idle threshold a connection is trusted, so a
    restart costs one 503; the disconnect invalidates the pool and the next call succeeds."""
    from ragline_common.errors import UpstreamUnavailable

    tenant = await catalog.create_tenant("busy")
    monkeypatch.setattr(engine, "PING_AFTER_IDLE_S", 3600.0)
    assert await _terminate_other_sessions(database_url) >= 1
    with pytest.raises(UpstreamUnavailable):
        await catalog.get_tenant(tenant.id)
    assert await catalog.get_tenant(tenant.id) == tenant
