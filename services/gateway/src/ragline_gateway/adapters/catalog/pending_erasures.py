"""Deleted documents whose chunk erasure the broker has not confirmed yet, on SQL.

A deletion sets ``erasure_pending`` (see ``SqlDocumentStore.delete_document``); it is cleared
once the broker confirmed the request to erase the chunks. The gateway's sweep sends the request
again for whatever is still pending (see ``domain.chunk_erasure`` for why).
"""

from __future__ import annotations

from sqlalchemy import select, update

from ragline_common.tenancy import TenantId
from ragline_gateway.adapters.catalog.connections import Connections
from ragline_gateway.adapters.catalog.tables import documents


class SqlPendingErasures:
    """:class:`~ragline_gateway.ports.catalog.PendingErasures` on the catalog database."""

    def __init__(self, connections: Connections) -> None:
        self._connections = connections

    async def mark_erasure_requested(self, tenant_id: TenantId, document_id: str) -> None:
        async with self._connections.writing() as connection:
            await connection.execute(
                update(documents)
                .where(
                    documents.c.tenant_id == tenant_id,
                    documents.c.id == document_id,
                    documents.c.erasure_pending.is_(True),
                )
                .values(erasure_pending=False)
            )

    async def documents_pending_erasure(self, *, limit: int) -> list[tuple[TenantId, str]]:
        async with self._connections.reading() as connection:
            rows = await connection.execute(
                select(documents.c.tenant_id, documents.c.id)
                .where(documents.c.erasure_pending.is_(True))
                .order_by(documents.c.deleted_at, documents.c.id)
                .limit(limit)
            )
            return [(TenantId(row.tenant_id), str(row.id)) for row in rows]
