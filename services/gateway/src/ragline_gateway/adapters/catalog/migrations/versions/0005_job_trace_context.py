"""Jobs keep the W3C trace context of their upload.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22

A job that waits for its tenant's dispatch window is published outside the upload request; the
stored ``traceparent`` (and ``tracestate``) puts that publish and the worker's spans back in the
upload's trace (ADR 0013). Jobs created before this revision have none and start a new trace.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("jobs", sa.Column("traceparent", sa.String(128), nullable=True))
    op.add_column("jobs", sa.Column("tracestate", sa.String(512), nullable=True))


def downgrade() -> None:
    op.drop_column("jobs", "tracestate")
    op.drop_column("jobs", "traceparent")
