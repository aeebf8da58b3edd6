"""Rows to the port's frozen records, and the few values that need converting on the way in."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import RowMapping

from ragline_common.messages import JobStatus
from ragline_common.tenancy import Scope, TenantId
from ragline_gateway.ports.catalog import (
    ApiKeyRecord,
    DocumentRecord,
    JobRecord,
    TenantRecord,
    TraceContext,
)


def utc(value: datetime) -> datetime:
    """Normalise a caller's datetime to UTC; a naive one is a bug in the caller, not a guess."""
    if value.tzinfo is None:
        raise ValueError("catalog datetimes must be timezone-aware")
    return value.astimezone(UTC)


def scopes_column(scopes: Iterable[Scope]) -> list[str]:
    """Scopes as a sorted JSON list: stable to compare and readable in a SQL console."""
    return sorted(scope.value for scope in scopes)


def tenant_record(row: RowMapping) -> TenantRecord:
    return TenantRecord(id=TenantId(row["id"]), name=row["name"], created_at=row["created_at"])


def api_key_record(row: RowMapping) -> ApiKeyRecord:
    return ApiKeyRecord(
        id=row["id"],
        tenant_id=TenantId(row["tenant_id"]),
        name=row["name"],
        prefix=row["prefix"],
        scopes=frozenset(Scope(scope) for scope in row["scopes"]),
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        revoked_at=row["revoked_at"],
        last_used_at=row["last_used_at"],
        replaced_by=row["replaced_by"],
    )


def document_record(row: Mapping[Any, Any]) -> DocumentRecord:
    metadata: dict[str, Any] = row["metadata"]
    return DocumentRecord(
        id=row["id"],
        tenant_id=TenantId(row["tenant_id"]),
        external_id=row["external_id"],
        title=row["title"],
        source_name=row["source_name"],
        content_type=row["content_type"],
        content_hash=row["content_hash"],
        size_bytes=row["size_bytes"],
        version=row["version"],
        metadata=metadata,
        status=JobStatus(row["status"]),
        chunk_count=row["chunk_count"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        indexed_version=row["indexed_version"],
    )


def job_record(row: RowMapping) -> JobRecord:
    return JobRecord(
        id=row["id"],
        tenant_id=TenantId(row["tenant_id"]),
        document_id=row["document_id"],
        version=row["version"],
        status=JobStatus(row["status"]),
        reason=row["reason"],
        chunk_count=row["chunk_count"],
        published=row["published"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        trace=(TraceContext(row["traceparent"], row["tracestate"]) if row["traceparent"] else None),
    )
