"""Deleted documents remember whether the erasure of their chunks is still to be requested;
a tenant's unfinished jobs are counted from an index.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03

Deleting a document tombstones it in the catalog and then asks the worker, through the broker,
to erase its chunks. When the broker refused that request the chunks stayed in the vector store
for good (hidden from searches, never erased). ``erasure_pending`` is set with the tombstone and
cleared once the broker confirmed the request; the gateway's sweeper sends the request again for
every document still pending. Documents deleted before this revision are marked pending too:
nothing recorded whether their request got through, and asking again is harmless (erasing an
erased document's chunks deletes nothing), so the sweeper reconciles them as well, a batch at a
time.

Every upload now counts the tenant's unfinished jobs (its share of the ingestion backlog). The
``jobs.tenant_id`` index alone would walk all of a tenant's jobs ever, finished ones included;
``(tenant_id, status)`` reaches only the unfinished ones (the dispatcher's window count too).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_documents = sa.table(
    "documents", sa.column("deleted_at"), sa.column("erasure_pending", sa.Boolean())
)


def upgrade() -> None:
    op.add_column(
        "documents",
        sa.Column("erasure_pending", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_index("ix_documents_erasure_pending", "documents", ["erasure_pending"])
    op.create_index("ix_jobs_tenant_id_status", "jobs", ["tenant_id", "status"])
    op.execute(
        _documents.update().where(_documents.c.deleted_at.is_not(None)).values(erasure_pending=True)
    )


def downgrade() -> None:
    op.drop_index("ix_jobs_tenant_id_status", table_name="jobs")
    op.drop_index("ix_documents_erasure_pending", table_name="documents")
    op.drop_column("documents", "erasure_pending")
