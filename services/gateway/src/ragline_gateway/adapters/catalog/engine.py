"""Engines for the two supported databases, and what counts as "the database is down".

PostgreSQL round trips are most of the gateway's catalog cost, so the engine spends as few as
it can: reads run in autocommit (one round trip for the statement, instead of BEGIN, statement,
ROLLBACK: at READ COMMITTED every statement takes its own snapshot anyway, so nothing is lost),
and a pooled connection is pinged before use only after it has sat idle for a while, not on every
checkout (SQLAlchemy's ``pool_pre_ping`` costs three round trips each time). A connection that
broke within the idle threshold fails one request with 503; the disconnect invalidates the pool,
so the next request gets fresh connections.

SQLite (monolithic mode) runs in WAL mode so readers never wait for the writer, with foreign keys
on and a busy timeout. Its default deferred transactions fail with "database is locked" when two
read-then-write transactions race, with no busy wait at all, so write transactions start with
``BEGIN IMMEDIATE``: writers queue on the busy timeout instead, and a read-check-write sequence
(such as a submit under an external id) can never interleave with another.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import URL, event, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from ragline_common.errors import UpstreamUnavailable

WRITE_OPTION = "ragline_write"
"""Execution option marking a connection that will write (SQLite: ``BEGIN IMMEDIATE``)."""

SQLITE_BUSY_TIMEOUT_MS = 10_000
_WAL_SWITCH_ATTEMPTS = 100  # x 50 ms: only ever waited on by the very first opens of a file
CONNECT_TIMEOUT_S = 5.0
COMMAND_TIMEOUT_S = 30.0
POOL_TIMEOUT_S = 10.0
PING_AFTER_IDLE_S = 10.0
_IDLE_SINCE = "ragline_idle_since"

_OUTAGE_SQLSTATE_CLASSES = ("08", "53", "57P")
"""PostgreSQL connection exceptions, insufficient resources, operator intervention (shutdown)."""


def create_catalog_engine(url: str, pool_size: int) -> AsyncEngine:
    """Engine for ``sqlite+aiosqlite`` (a file) or ``postgresql+asyncpg``; nothing connects yet."""
    parsed = make_url(url)
    match parsed.drivername:
        case "sqlite+aiosqlite":
            return _sqlite_engine(parsed, pool_size)
        case "postgresql+asyncpg":
            # Up to twice pool_size connections, as before, but every one is kept once opened:
            # an overflow connection closed on return was reopened moments later under load
            # (60 connects while 200 SciFact documents were ingested, each paying the connect,
            # the SSL probe and preparing every statement again), ~20% of the gateway's CPU.
            engine = create_async_engine(
                parsed,
                pool_size=2 * pool_size,
                max_overflow=0,
                pool_timeout=POOL_TIMEOUT_S,
                connect_args={"timeout": CONNECT_TIMEOUT_S, "command_timeout": COMMAND_TIMEOUT_S},
            )
            _ping_when_idle(engine)
            return engine
        case other:
            raise ValueError(
                f"unsupported catalog database driver {other!r}: "
                "use sqlite+aiosqlite:///<file> or postgresql+asyncpg://..."
            )


def for_reading(engine: AsyncEngine) -> AsyncEngine:
    """The engine for statements that only read: autocommit on PostgreSQL (see above)."""
    if engine.dialect.name == "postgresql":
        return engine.execution_options(isolation_level="AUTOCOMMIT")
    return engine


def for_writing(engine: AsyncEngine) -> AsyncEngine:
    """The engine for transactions that write (SQLite: ``BEGIN IMMEDIATE``)."""
    return engine.execution_options(**{WRITE_OPTION: True})


def _ping_when_idle(engine: AsyncEngine) -> None:
    """Ping a pooled connection at checkout only if it has been idle ``PING_AFTER_IDLE_S``:
    a PostgreSQL restart or an idle-connection reaper must not surface as errors on stale
    connections, and a busy pool should not pay a ping per transaction."""

    @event.listens_for(engine.sync_engine, "checkin")
    def _on_checkin(_dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        idle_since = record.info.get(_IDLE_SINCE)
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_S:
            return
        try:
            dbapi_connection.ping()
        except Exception as exc:
            # The pool drops this connection and checks out another (or connects anew).
            raise DisconnectionError("stale pooled connection") from exc


def sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL (its directory may need creating), else ``None``."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database is None:
        return None
    return Path(parsed.database)


def _sqlite_engine(url: URL, pool_size: int) -> AsyncEngine:
    if url.database in (None, "", ":memory:") or (url.query.get("mode") == "memory"):
        raise ValueError("the SQLite catalog needs a database file (WAL does not apply in memory)")
    engine = create_async_engine(url, pool_size=pool_size, pool_timeout=POOL_TIMEOUT_S)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        # Autocommit at the driver level: the "begin" hook below issues BEGIN itself, which is
        # the only way to choose IMMEDIATE (SQLAlchemy's documented SQLite recipe).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        _switch_to_wal(cursor)
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        writes = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")

    return engine


def _switch_to_wal(cursor: Any) -> None:
    """Put the file in WAL mode, even while another process opens a brand-new file too.

    Switching the journal mode needs an exclusive lock, and SQLite reports "database is locked"
    for it without calling the busy handler; so the switch is retried briefly. A file already in
    WAL mode (every open after the first) succeeds at once.
    """
    for attempt in range(_WAL_SWITCH_ATTEMPTS):
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == _WAL_SWITCH_ATTEMPTS - 1:
                raise
            time.sleep(0.05)


def is_outage(exc: BaseException) -> bool:
    """True when ``exc`` means the database cannot serve now, rather than a bad statement."""
    if isinstance(exc, OSError | TimeoutError | PoolTimeoutError | DisconnectionError):
        return True
    if isinstance(exc, sqlite3.OperationalError):  # raised by a raw sqlite3 connection
        return _sqlite_outage(str(exc))
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        sqlstate = getattr(exc.orig, "sqlstate", None)
        if isinstance(sqlstate, str) and sqlstate.startswith(_OUTAGE_SQLSTATE_CLASSES):
            return True
        if isinstance(exc.orig, OSError | TimeoutError):
            return True
        return _sqlite_outage(str(exc.orig))
    return False


def _sqlite_outage(message: str) -> bool:
    # A lock held past the busy timeout, or a file that cannot be opened (disk, permissions).
    return "database is locked" in message or "unable to open database file" in message


@contextmanager
def unavailable_on_outage() -> Iterator[None]:
    """Turn a database outage into :class:`UpstreamUnavailable` (HTTP 503 with Retry-After)."""
    try:
        yield
    except Exception as exc:
        if is_outage(exc):
            raise UpstreamUnavailable("The catalog database is unavailable.") from exc
        raise
