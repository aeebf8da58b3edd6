"""Catalog port: tenants, API keys, documents and jobs.

The gateway owns the catalog (ADR 0003); workers report through events. Every method that reads
or changes tenant data takes ``tenant_id`` and never returns another tenant's rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from pydantic import JsonValue

from ragline_common.messages import JobStatus
from ragline_common.tenancy import Scope, TenantId


@dataclass(frozen=True)
class TenantRecord:
    id: TenantId
    name: str
    created_at: datetime


@dataclass(frozen=True)
class ApiKeyRecord:
    id: str
    tenant_id: TenantId
    name: str
    prefix: str
    scopes: frozenset[Scope]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


@dataclass(frozen=True)
class DocumentDraft:
    """What the gateway knows of an upload before it is stored."""

    title: str
    source_name: str
    content_type: str
    content_hash: str
    size_bytes: int
    metadata: dict[str, JsonValue]
    external_id: str | None = None


@dataclass(frozen=True)
class DocumentRecord:
    id: str
    tenant_id: TenantId
    external_id: str | None
    title: str
    source_name: str
    content_type: str
    content_hash: str
    size_bytes: int
    version: int
    metadata: dict[str, JsonValue]
    status: JobStatus
    chunk_count: int | None
    created_at: datetime
    updated_at: datetime
    indexed_version: int | None
    """The version searches may show (the newest indexed); None until one is indexed."""


@dataclass(frozen=True)
class JobRecord:
    id: str
    tenant_id: TenantId
    document_id: str
    version: int
    status: JobStatus
    reason: str | None
    chunk_count: int | None
    published: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Submission:
    """Result of registering an upload: the job to publish, or the existing one for a repeat."""

    document: DocumentRecord
    job: JobRecord
    created: bool


class Catalog(Protocol):
    async def open(self) -> None:
        """Connect and bring the schema up to date (migrations)."""

    async def close(self) -> None: ...

    async def ping(self) -> None: ...

    # tenants (operator)
    async def create_tenant(self, name: str) -> TenantRecord: ...

    async def get_tenant(self, tenant_id: TenantId) -> TenantRecord | None: ...

    async def list_tenants(self) -> list[TenantRecord]: ...

    # keys
    async def create_api_key(
        self,
        tenant_id: TenantId,
        *,
        name: str,
        prefix: str,
        key_hash: str,
        scopes: frozenset[Scope],
        expires_at: datetime | None,
    ) -> ApiKeyRecord: ...

    async def find_api_key(self, key_hash: str) -> ApiKeyRecord | None:
        """Look a key up by its hash (the only lookup not scoped by tenant: it finds the tenant)."""

    async def list_api_keys(self, tenant_id: TenantId) -> list[ApiKeyRecord]: ...

    async def revoke_api_key(self, tenant_id: TenantId, key_id: str) -> bool: ...

    async def touch_api_key(self, key_id: str, when: datetime) -> None: ...

    # documents and jobs
    async def submit_document(
        self, tenant_id: TenantId, draft: DocumentDraft, content: bytes
    ) -> Submission:
        """Record a new document (or new version under the same external id) and its job.

        Identical content under the same external id is not re-indexed: the existing document
        and its latest job come back with ``created=False``.
        """

    async def get_document(
        self, tenant_id: TenantId, document_id: str
    ) -> DocumentRecord | None: ...

    async def list_documents(
        self, tenant_id: TenantId, *, limit: int, offset: int
    ) -> list[DocumentRecord]: ...

    async def delete_document(self, tenant_id: TenantId, document_id: str) -> bool:
        """Tombstone the document: it disappears from reads, its stored contents are dropped,
        its unfinished jobs fail, and its external id is free again. False if not found."""

    async def active_versions(
        self, tenant_id: TenantId, document_ids: Sequence[str]
    ) -> dict[str, int]:
        """The version searches may show, for each of ``document_ids`` that has one."""

    async def get_document_content(
        self, tenant_id: TenantId, document_id: str, version: int
    ) -> bytes | None: ...

    async def get_job(self, tenant_id: TenantId, job_id: str) -> JobRecord | None: ...

    async def mark_job_published(self, tenant_id: TenantId, job_id: str) -> None: ...

    async def unfinished_jobs(
        self, *, published: bool | None, limit: int, offset: int = 0
    ) -> Sequence[JobRecord]:
        """Jobs not yet indexed or failed, oldest first (recovery after a crash or restart)."""

    async def list_jobs(self, tenant_id: TenantId, document_id: str) -> list[JobRecord]: ...

    async def reopen_job(self, tenant_id: TenantId, job_id: str) -> bool:
        """Move a failed job back to queued (published), for an operator's replay."""

    async def count_in_flight(self, tenant_id: TenantId) -> int:
        """Jobs of the tenant published to the broker and not yet indexed or failed."""

    async def next_unpublished(self, tenant_id: TenantId, *, limit: int) -> list[JobRecord]:
        """The tenant's unfinished, unpublished jobs, oldest first (what to dispatch next)."""

    async def tenants_with_unpublished(self, *, limit: int) -> list[TenantId]:
        """Tenants that have jobs waiting to be dispatched."""

    async def reset_publication(self) -> int:
        """Mark every unfinished job unpublished (after the in-process broker lost them)."""

    async def delete_tenant(self, tenant_id: TenantId) -> bool:
        """Remove every catalog row of the tenant (keys, documents, contents, jobs)."""

    async def apply_job_status(
        self,
        tenant_id: TenantId,
        job_id: str,
        status: JobStatus,
        *,
        chunk_count: int | None,
        reason: str | None,
    ) -> bool:
        """Move a job forward; stale or backward transitions are ignored (returns False)."""
