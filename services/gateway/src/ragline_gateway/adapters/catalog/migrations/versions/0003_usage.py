"""Per-tenant LLM usage, one row per tenant, UTC day and model.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22

A daily aggregate rather than one row per answer: quotas ask "tokens used today" on every query,
which must stay a primary-key lookup however many answers a tenant gets. Costs are integer
micro-dollars, so sums never drift the way floating point totals do.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "usage_daily",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("requests", sa.BigInteger(), nullable=False),
        sa.Column("degraded_requests", sa.BigInteger(), nullable=False),
        sa.Column("prompt_tokens", sa.BigInteger(), nullable=False),
        sa.Column("completion_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cost_micro_usd", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "day", "model", name="pk_usage_daily"),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name="fk_usage_daily_tenant_id_tenants"
        ),
    )


def downgrade() -> None:
    op.drop_table("usage_daily")
