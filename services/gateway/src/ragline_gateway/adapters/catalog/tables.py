"""Catalog schema as SQLAlchemy Core tables: the shape queries are written against.

The migrations in ``migrations/versions`` create this very schema; a test compares the two, so a
column added here without a migration (or the reverse) fails the build instead of a deployment.
Core, not the ORM: the port speaks in frozen dataclasses, and mapping rows to them by hand keeps
one representation of a record instead of two.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator

from ragline_common.messages import JobStatus

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
"""Deterministic constraint names, so a later migration can drop or alter them by name."""

metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes in and out, whatever the database keeps.

    PostgreSQL stores ``timestamptz``; SQLite has no time zone type and would hand back naive
    values, which compare wrongly against aware ones in the gateway (expiry checks). Values are
    stored as UTC and always come back tagged UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("catalog datetimes must be timezone-aware")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(
        self,
        value: datetime | None,
        dialect: Dialect,
    ) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSON_DOCUMENT = JSON().with_variant(JSONB(), "postgresql")
"""JSONB on PostgreSQL (indexable, compact), JSON text on SQLite."""

_STATUSES = ", ".join(f"'{status.value}'" for status in JobStatus)


def _status_check() -> CheckConstraint:
    return CheckConstraint(f"status IN ({_STATUSES})", name="status")


tenants = Table(
    "tenants",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    # Operator overrides (migration 0004); NULL means the gateway's configured default.
    Column("query_per_minute", Integer(), nullable=True),
    Column("ingest_per_minute", Integer(), nullable=True),
    Column("max_documents", BigInteger(), nullable=True),
    Column("max_stored_bytes", BigInteger(), nullable=True),
    Column("max_llm_tokens_per_day", BigInteger(), nullable=True),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("tenant_id", String(64), ForeignKey("tenants.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("prefix", String(32), nullable=False),
    Column("key_hash", String(128), nullable=False, unique=True),
    Column("scopes", JSON_DOCUMENT, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=True),
    Column("revoked_at", UtcDateTime(), nullable=True),
    Column("last_used_at", UtcDateTime(), nullable=True),
    # The key that replaced this one in a rotation (this one expires after the grace period).
    Column("replaced_by", String(64), nullable=True),
)

documents = Table(
    "documents",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("tenant_id", String(64), ForeignKey("tenants.id"), nullable=False),
    Column("external_id", String(512), nullable=True),
    Column("title", Text(), nullable=False),
    Column("source_name", Text(), nullable=False),
    Column("content_type", String(200), nullable=False),
    Column("content_hash", String(128), nullable=False),
    Column("size_bytes", BigInteger(), nullable=False),
    Column("version", Integer(), nullable=False),
    Column("metadata", JSON_DOCUMENT, nullable=False),
    Column("status", String(16), nullable=False),
    Column("chunk_count", Integer(), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    # The version searches may show: the newest indexed one (NULL until the first is indexed).
    Column("indexed_version", Integer(), nullable=True),
    # Tombstone of a deleted document: late worker events for it are recognised, not revived.
    Column("deleted_at", UtcDateTime(), nullable=True),
    # Deleted, and the broker has not yet confirmed the request to erase its chunks (0007):
    # the sweeper sends it again. Indexed: the sweeper looks for the few pending ones often.
    Column("erasure_pending", Boolean(), nullable=False, server_default=false(), index=True),
    # NULL external ids never collide (SQL NULL semantics on both engines).
    UniqueConstraint("tenant_id", "external_id"),
    _status_check(),
    Index(None, "tenant_id", "created_at"),
    # Every search asks for the current version of its hits' documents: (tenant, id IN ...).
    # Without this index SQLite walks the tenant's whole (tenant_id, created_at) range instead.
    Index(None, "tenant_id", "id"),
)

document_blobs = Table(
    "document_blobs",
    metadata,
    Column("document_id", String(64), ForeignKey("documents.id"), primary_key=True),
    Column("version", Integer(), primary_key=True),
    Column("tenant_id", String(64), ForeignKey("tenants.id"), nullable=False, index=True),
    Column("content", LargeBinary(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

jobs = Table(
    "jobs",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("tenant_id", String(64), ForeignKey("tenants.id"), nullable=False, index=True),
    Column("document_id", String(64), ForeignKey("documents.id"), nullable=False),
    Column("version", Integer(), nullable=False),
    Column("status", String(16), nullable=False),
    Column("reason", Text(), nullable=True),
    Column("chunk_count", Integer(), nullable=True),
    Column("published", Boolean(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    # W3C trace context of the upload, so a job published later joins its trace (0005).
    Column("traceparent", String(128), nullable=True),
    Column("tracestate", String(512), nullable=True),
    # One job per document version; it also serves "latest job of a document".
    UniqueConstraint("document_id", "version"),
    _status_check(),
    # Recovery scan: unfinished jobs, oldest first.
    Index(None, "status", "created_at"),
    # A tenant's unfinished jobs: its backlog share (every upload) and dispatch window (0007).
    Index(None, "tenant_id", "status"),
)

usage_daily = Table(
    "usage_daily",
    metadata,
    # One row per tenant, UTC day and model: "tokens used today" stays a key lookup (quotas).
    Column("tenant_id", String(64), ForeignKey("tenants.id"), primary_key=True),
    Column("day", Date(), primary_key=True),
    Column("model", String(200), primary_key=True),
    Column("requests", BigInteger(), nullable=False),
    Column("degraded_requests", BigInteger(), nullable=False),
    Column("prompt_tokens", BigInteger(), nullable=False),
    Column("completion_tokens", BigInteger(), nullable=False),
    # Integer micro-dollars: sums of many small prices never drift.
    Column("cost_micro_usd", BigInteger(), nullable=False),
    # Indexing's tokens (migration 0008): apart from prompt_tokens, outside the daily LLM quota.
    Column("embedding_tokens", BigInteger(), nullable=False, server_default="0"),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    # Per tenant: two tenants may well pick the same key.
    Column("tenant_id", String(64), ForeignKey("tenants.id"), primary_key=True),
    Column("key", String(255), primary_key=True),
    # SHA-256 of method, path and body: the same key with another request is refused.
    Column("fingerprint", String(64), nullable=False),
    Column("state", String(16), nullable=False),
    Column("status_code", Integer(), nullable=True),
    Column("response_headers", JSON(), nullable=True),
    Column("response_body", LargeBinary(), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False, index=True),
    CheckConstraint("state IN ('running', 'done')", name="state"),
)

INDEX_MODEL_STATES = ("building", "active", "previous", "dropping", "dropped", "failed")
REINDEX_TASK_STATES = ("queued", "published", "done", "failed")

index_models = Table(
    "index_models",
    metadata,
    # One embedding index per model spec (migration 0009, ADR 0018); empty = the default active.
    Column("spec", String(200), primary_key=True),
    Column("state", String(16), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("activated_at", UtcDateTime(), nullable=True),
    # Reindex progress in the row itself, so listing progress is one read.
    Column("total", Integer(), nullable=False),
    Column("done", Integer(), nullable=False),
    Column("failed", Integer(), nullable=False),
    Column("error", Text(), nullable=True),
    CheckConstraint(
        "state IN (" + ", ".join(f"'{s}'" for s in INDEX_MODEL_STATES) + ")", name="state"
    ),
)

reindex_tasks = Table(
    "reindex_tasks",
    metadata,
    # One live document version to re-embed into ``spec``'s index; dispatched like a job.
    Column("id", String(64), primary_key=True),
    Column("spec", String(200), ForeignKey("index_models.spec"), nullable=False, index=True),
    # No foreign keys to tenants/documents: deleting either must not wait for a reindex.
    Column("tenant_id", String(64), nullable=False),
    Column("document_id", String(64), nullable=False),
    Column("version", Integer(), nullable=False),
    Column("state", String(16), nullable=False),
    Column("reason", Text(), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    CheckConstraint(
        "state IN (" + ", ".join(f"'{s}'" for s in REINDEX_TASK_STATES) + ")", name="state"
    ),
    Index(None, "tenant_id", "state", "created_at"),
)
