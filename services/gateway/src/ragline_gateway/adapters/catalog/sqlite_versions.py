"""The current versions of a search's hits, read from the SQLite catalog on the event loop.

Every search asks which version of its hits' documents readers may see (ADR 0008). Through
SQLAlchemy's async engine, ``aiosqlite`` hands each step of that read (``BEGIN``, execute,
fetch, ``ROLLBACK``, cursor open and close) to its connection thread and back; on a two-core VM,
where waking an idle thread is costly, the lookup took 1.2-1.5 ms, most of it hand-offs. The
statement itself, an index seek per id, takes about 50 us. So it runs here, on the event loop,
on a read-only connection of its own: cheaper than the near-duplicate filter that follows it.

Blocking the loop is safe because a reader of a WAL-mode database does not wait for writers.
The short busy timeout only covers the rare moments SQLite makes a reader retry (a WAL reset,
recovery after a crash); past it the search fails with 503 rather than stalling every request.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

from ragline_gateway.adapters.catalog.engine import unavailable_on_outage

READ_BUSY_TIMEOUT_S = 0.25


def versions_statement(id_count: int) -> str:
    """Parameters: the tenant id, then ``id_count`` document ids.

    Served by the ``(tenant_id, id)`` index (migration 0006): one seek per id.
    """
    placeholders = ",".join("?" * id_count)  # only placeholders: every value is bound
    return (
        "SELECT id, indexed_version FROM documents"  # noqa: S608
        f" WHERE tenant_id = ? AND id IN ({placeholders})"
        " AND deleted_at IS NULL AND indexed_version IS NOT NULL"
    )


class SqliteVersionReader:
    """``DocumentStore.active_versions`` on SQLite: one connection, used on the event loop only."""

    def __init__(self, database: Path) -> None:
        self._database = database
        self._connection: sqlite3.Connection | None = None

    def active_versions(self, tenant_id: str, document_ids: Sequence[str]) -> dict[str, int]:
        ids = list(dict.fromkeys(document_ids))
        if not ids:
            return {}
        with unavailable_on_outage():
            rows = self._open().execute(versions_statement(len(ids)), [tenant_id, *ids]).fetchall()
        return dict(rows)

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _open(self) -> sqlite3.Connection:
        """Connect on first use, after the catalog's migrations have created the file."""
        if self._connection is None:
            connection = sqlite3.connect(
                self._database, timeout=READ_BUSY_TIMEOUT_S, isolation_level=None
            )
            connection.execute("PRAGMA query_only=ON")
            self._connection = connection
        return self._connection
