"""How every role of the SQL catalog gets its connection, and the helpers their statements share.

The roles (tenant directory, document store, dispatch queue, ...) are separate classes over one
engine. They take their connections from one :class:`Connections`, which the
:class:`~ragline_gateway.adapters.catalog.sql_catalog.SqlCatalog` that composes them provides:
so every statement of every role goes through the same outage handling, and a catalog that
refuses work (a test's simulated outage) refuses it for all of them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import RowMapping, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.expression import Executable

from ragline_common.errors import NotFound
from ragline_common.messages import JobStatus
from ragline_common.tenancy import TenantId
from ragline_gateway.adapters.catalog.tables import tenants

ConnectionOpener = Callable[[], AbstractAsyncContextManager[AsyncConnection]]

UNFINISHED = (JobStatus.QUEUED.value, JobStatus.PROCESSING.value)
"""Job statuses of work not yet done: the backlog, the dispatch window, what a deletion fails."""


@dataclass(frozen=True)
class Connections:
    reading: ConnectionOpener
    """A connection for statements that only read (autocommit on PostgreSQL, see ``engine``)."""
    writing: ConnectionOpener
    """One transaction, committed when the block ends without an exception."""


@asynccontextmanager
async def single_statement(connections: Connections) -> AsyncIterator[AsyncConnection]:
    """A connection for a write that is one statement: on PostgreSQL the autocommit reading one
    (the statement is its own transaction: no BEGIN and COMMIT round trips), on SQLite the
    writing one (its reads do not commit)."""
    async with connections.reading() as connection:
        if connection.dialect.name == "postgresql":
            yield connection
            return
    async with connections.writing() as connection:
        yield connection


async def one(connection: AsyncConnection, statement: Executable) -> RowMapping:
    """The single row a statement must return (``INSERT ... RETURNING`` and the like)."""
    return (await connection.execute(statement)).mappings().one()


async def first(
    connection: AsyncConnection, statement: Executable, parameters: Mapping[str, Any] | None = None
) -> RowMapping | None:
    """The first row of a statement, if any (``parameters`` bind a prebuilt statement's values)."""
    return (await connection.execute(statement, parameters)).mappings().first()


def now() -> datetime:
    return datetime.now(UTC)


async def require_tenant(connection: AsyncConnection, tenant_id: TenantId) -> None:
    """Fail with NotFound unless the tenant exists, and keep it so until commit.

    Every write that adds a row of a tenant (a key, a document, an idempotency claim) takes this
    shared lock first, so it cannot slip in beside a concurrent deletion of the tenant.
    """
    found = (
        await connection.execute(
            select(tenants.c.id)
            .where(tenants.c.id == tenant_id)
            .with_for_update(read=True, key_share=True)
        )
    ).first()
    if found is None:
        raise NotFound(f"Tenant {tenant_id} does not exist.")
