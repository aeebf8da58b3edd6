"""An index for looking up a tenant's documents by id, as every search does.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21

After each search the gateway reads the current version of the hits' documents
(``tenant_id = ? AND id IN (...)``). SQLite's planner, without statistics, preferred the
``(tenant_id, created_at)`` index for that and scanned all of the tenant's documents: 1.5 ms per
search at 5,000 documents, growing with the tenant. With ``(tenant_id, id)`` it seeks each id
(40 us). PostgreSQL could already use the primary key; the index costs it little.
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_documents_tenant_id_id", "documents", ["tenant_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_documents_tenant_id_id", table_name="documents")
