"""Embedding tokens join the per-tenant usage ledger.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04

Indexing a document spends embedding tokens just as answering spends LLM tokens, and a tenant
(or its bill) needs both. The worker reports a job's embedding tokens on its ``indexed`` event
and the gateway adds them to ``usage_daily`` under the embedding model, in the transaction that
applies the status change, so a redelivered event is not counted twice. A separate column rather
than ``prompt_tokens``: the daily LLM-token quota sums prompt and completion tokens, and indexing
must not eat into what a tenant may ask. Existing rows default to 0 (nothing was recorded).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "usage_daily",
        sa.Column("embedding_tokens", sa.BigInteger(), nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.drop_column("usage_daily", "embedding_tokens")
