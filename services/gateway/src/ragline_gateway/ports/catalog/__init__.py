"""Catalog port: tenants, API keys, documents and jobs.

The gateway owns the catalog (ADR 0003); workers report through events. Every method that reads
or changes tenant data takes ``tenant_id`` and never returns another tenant's rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal, Protocol

from pydantic import JsonValue

from ragline_common.messages import JobStatus
from ragline_common.tenancy import Scope, TenantId


@dataclass(frozen=True)
class JobStatusUpdate:
    """One worker event for :meth:`Catalog.apply_job_statuses`."""

    tenant_id: TenantId
    job_id: str
    status: JobStatus
    chunk_count: int | None = None
    reason: str | None = None


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
    replaced_by: str | None = None
    """The key that replaced this one in a rotation; this one lives out its grace period."""


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
class TraceContext:
    """The W3C trace context an upload arrived in, kept with its job.

    A job may be published long after its upload (when its tenant's dispatch window has room);
    keeping the context lets that publish, and the worker's processing, join the upload's trace.
    """

    traceparent: str
    tracestate: str | None = None


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
    trace: TraceContext | None = None
    """Trace context of the upload that created the job; None if it had none."""


@dataclass(frozen=True)
class Submission:
    """Result of registering an upload: the job to publish, or the existing one for a repeat."""

    document: DocumentRecord
    job: JobRecord
    created: bool


@dataclass(frozen=True)
class UsageDelta:
    """What one answer consumed, added to the tenant's row for the day it finished."""

    model: str
    prompt_tokens: int
    completion_tokens: int
    cost_micro_usd: int
    degraded: bool


@dataclass(frozen=True)
class UsageRecord:
    """A tenant's totals for one UTC day and one model."""

    day: date
    model: str
    requests: int
    degraded_requests: int
    prompt_tokens: int
    completion_tokens: int
    cost_micro_usd: int


@dataclass(frozen=True)
class TenantLimits:
    """An operator's overrides of one tenant's rate limits and quotas (``None``: the default)."""

    query_per_minute: int | None = None
    ingest_per_minute: int | None = None
    max_documents: int | None = None
    max_stored_bytes: int | None = None
    max_llm_tokens_per_day: int | None = None


@dataclass(frozen=True)
class StorageUsage:
    """What a tenant keeps now: live documents and the bytes of their current versions."""

    documents: int
    stored_bytes: int


@dataclass(frozen=True)
class StoredResponse:
    """A finished response kept for replay under an idempotency key."""

    status_code: int
    headers: list[tuple[str, str]]
    body: bytes


@dataclass(frozen=True)
class IdempotencyClaim:
    """Outcome of presenting an idempotency key.

    ``claimed``: the caller runs the request and then completes or releases the key;
    ``running``: another request holds it; ``mismatch``: it was used for another request;
    ``done``: ``response`` is the original answer to replay.
    """

    outcome: Literal["claimed", "running", "mismatch", "done"]
    response: StoredResponse | None = None


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

    async def retire_api_key(
        self, tenant_id: TenantId, key_id: str, *, replaced_by: str, expires_at: datetime
    ) -> bool:
        """Mark a rotated key: it expires at ``expires_at`` (or earlier, if it already did)."""

    # per-tenant limits, quotas and idempotency (gateway)
    async def get_tenant_limits(self, tenant_id: TenantId) -> TenantLimits | None:
        """The tenant's overrides, or ``None`` when there is no such tenant."""

    async def set_tenant_limits(self, tenant_id: TenantId, limits: TenantLimits) -> bool: ...

    async def storage_usage(self, tenant_id: TenantId) -> StorageUsage: ...

    async def find_document_by_external_id(
        self, tenant_id: TenantId, external_id: str
    ) -> DocumentRecord | None: ...

    async def claim_idempotency_key(
        self,
        tenant_id: TenantId,
        key: str,
        fingerprint: str,
        *,
        now: datetime,
        lease_s: float,
        ttl_s: float,
    ) -> IdempotencyClaim:
        """Claim ``key`` for a request; a running claim older than ``lease_s`` is abandoned."""

    async def complete_idempotency_key(
        self, tenant_id: TenantId, key: str, response: StoredResponse
    ) -> None: ...

    async def release_idempotency_key(self, tenant_id: TenantId, key: str) -> None:
        """Forget a claim whose request failed in a way a retry may fix."""

    async def purge_idempotency_keys(self, *, before: datetime) -> int:
        """Drop records that expired before ``before``; returns how many."""

    # documents and jobs
    async def submit_document(
        self,
        tenant_id: TenantId,
        draft: DocumentDraft,
        content: bytes,
        *,
        trace: TraceContext | None = None,
    ) -> Submission:
        """Record a new document (or new version under the same external id) and its job.

        ``trace`` is stored with a new job, so a later publish joins the upload's trace.

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
        its unfinished jobs fail, and its external id is free again. False if not found.

        The erasure of its chunks is pending until :meth:`mark_erasure_requested`."""

    async def mark_erasure_requested(self, tenant_id: TenantId, document_id: str) -> None:
        """The broker confirmed the request to erase the deleted document's chunks."""

    async def documents_pending_erasure(self, *, limit: int) -> list[tuple[TenantId, str]]:
        """Deleted documents (tenant, id) of every tenant whose erasure request was never
        confirmed, longest deleted first: the sweeper sends their requests again."""

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

    async def count_unfinished_jobs(self) -> int:
        """Jobs of every tenant not yet indexed or failed: the ingestion backlog."""

    async def count_tenant_unfinished_jobs(self, tenant_id: TenantId) -> int:
        """The tenant's own share of the backlog: its jobs not yet indexed or failed."""

    async def count_in_flight(self, tenant_id: TenantId) -> int:
        """Jobs of the tenant published to the broker and not yet indexed or failed."""

    async def next_unpublished(self, tenant_id: TenantId, *, limit: int) -> list[JobRecord]:
        """The tenant's unfinished, unpublished jobs, oldest first (what to dispatch next)."""

    async def tenants_with_unpublished(self, *, limit: int) -> list[TenantId]:
        """Tenants that have jobs waiting to be dispatched."""

    async def reset_publication(self) -> int:
        """Mark every unfinished job unpublished (after the in-process broker lost them)."""

    async def delete_tenant(self, tenant_id: TenantId) -> bool:
        """Remove every catalog row of the tenant (keys, documents, contents, jobs, usage)."""

    # usage (generation)
    async def record_usage(self, tenant_id: TenantId, delta: UsageDelta, *, when: datetime) -> None:
        """Add one answer's tokens and cost to the tenant's totals for ``when``'s UTC day."""

    async def usage_between(
        self, tenant_id: TenantId, *, first_day: date, last_day: date
    ) -> list[UsageRecord]:
        """The tenant's daily totals from ``first_day`` to ``last_day`` (inclusive, UTC days)."""

    async def tokens_used_on(self, tenant_id: TenantId, day: date) -> int:
        """Prompt plus completion tokens of the tenant on one UTC day, all models (quotas)."""

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

    async def apply_job_statuses(self, updates: Sequence[JobStatusUpdate]) -> list[bool]:
        """Apply several events in one transaction, in order; one ``changed`` flag each.

        The job-events consumer coalesces the events that arrive together: per event, a
        transaction of its own costs several round trips and most of the gateway's CPU."""
