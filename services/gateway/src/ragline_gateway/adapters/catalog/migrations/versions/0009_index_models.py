"""Embedding indexes by model, and the reindex tasks that build a new one (issue 15).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04

``index_models`` names every embedding index the gateway knows by its model spec (``KIND`` or
``KIND:MODEL``) with its state: the one ``active`` index that searches read, at most one
``building`` while a reindex runs, ``previous`` ones that reads can switch back to, and
``dropping``/``dropped`` ones whose collection is (being) deleted. ``total``/``done``/``failed``
count the reindex tasks, so progress is one row read. The table starts empty: the gateway seeds
the configured default spec as active on first use (a migration cannot know the settings).

``reindex_tasks`` is the reindex's share of the dispatch queue: one row per live document version
to re-embed, published to the ingestion queue within its tenant's dispatch window alongside the
tenant's uploads (ADR 0008's fairness, ADR 0018). No foreign keys to documents or tenants: a
document or tenant deleted mid-reindex leaves its task to be settled as nothing-to-do by the
dispatcher, instead of blocking the deletion.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "index_models",
        sa.Column("spec", sa.String(200), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("spec", name="pk_index_models"),
        sa.CheckConstraint(
            "state IN ('building', 'active', 'previous', 'dropping', 'dropped', 'failed')",
            name="ck_index_models_state",
        ),
    )
    op.create_table(
        "reindex_tasks",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("spec", sa.String(200), nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("document_id", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_reindex_tasks"),
        sa.ForeignKeyConstraint(
            ["spec"], ["index_models.spec"], name="fk_reindex_tasks_spec_index_models"
        ),
        sa.CheckConstraint(
            "state IN ('queued', 'published', 'done', 'failed')", name="ck_reindex_tasks_state"
        ),
    )
    # The dispatcher's questions: a tenant's waiting or published tasks, oldest first.
    op.create_index(
        "ix_reindex_tasks_tenant_id_state_created_at",
        "reindex_tasks",
        ["tenant_id", "state", "created_at"],
    )
    # Restarting or dropping a spec touches all of its tasks.
    op.create_index("ix_reindex_tasks_spec", "reindex_tasks", ["spec"])


def downgrade() -> None:
    op.drop_index("ix_reindex_tasks_spec", table_name="reindex_tasks")
    op.drop_index("ix_reindex_tasks_tenant_id_state_created_at", table_name="reindex_tasks")
    op.drop_table("reindex_tasks")
    op.drop_table("index_models")
