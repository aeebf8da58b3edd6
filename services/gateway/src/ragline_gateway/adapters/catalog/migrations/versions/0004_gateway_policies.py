"""Per-tenant limits and quotas, key rotation, and idempotency records.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22

Limits and quotas are nullable columns of ``tenants``: NULL means "the gateway's configured
default", so changing a default reaches every tenant the operator has not tuned. Idempotency
records live in the catalog (not in one process) because any replica may receive the retry.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_TENANT_LIMITS = (
    ("query_per_minute", sa.Integer()),
    ("ingest_per_minute", sa.Integer()),
    ("max_documents", sa.BigInteger()),
    ("max_stored_bytes", sa.BigInteger()),
    ("max_llm_tokens_per_day", sa.BigInteger()),
)


def upgrade() -> None:
    for name, column_type in _TENANT_LIMITS:
        op.add_column("tenants", sa.Column(name, column_type, nullable=True))
    op.add_column("api_keys", sa.Column("replaced_by", sa.String(64), nullable=True))
    op.create_table(
        "idempotency_keys",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("response_headers", sa.JSON(), nullable=True),
        sa.Column("response_body", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "key", name="pk_idempotency_keys"),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name="fk_idempotency_keys_tenant_id_tenants"
        ),
        sa.CheckConstraint("state IN ('running', 'done')", name="ck_idempotency_keys_state"),
    )
    op.create_index("ix_idempotency_keys_expires_at", "idempotency_keys", ["expires_at"])


def downgrade() -> None:
    op.drop_table("idempotency_keys")
    op.drop_column("api_keys", "replaced_by")
    for name, _ in reversed(_TENANT_LIMITS):
        op.drop_column("tenants", name)
