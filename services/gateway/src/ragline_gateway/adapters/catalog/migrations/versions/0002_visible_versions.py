"""Documents remember which version searches may show, and deletions leave a tombstone.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("documents", sa.Column("indexed_version", sa.Integer(), nullable=True))
    op.add_column("documents", sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))
    # Documents indexed before this revision show the version they were indexed at.
    op.execute("UPDATE documents SET indexed_version = version WHERE status = 'indexed'")


def downgrade() -> None:
    op.drop_column("documents", "deleted_at")
    op.drop_column("documents", "indexed_version")
