"""The job roles of the catalog: the dispatch queue, and how a job's status moves.

A job is one document version on its way to the index. The gateway publishes it when its
tenant's dispatch window has room (:class:`DispatchQueue`), and the worker's events, an
operator's replay or a failed dispatch move its status (:class:`JobStatusLedger`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from ragline_common.messages import JobStatus
from ragline_common.tenancy import TenantId

if TYPE_CHECKING:  # documents imports this module: the records of a job come first
    from ragline_gateway.ports.catalog.documents import DocumentRecord


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
class UnpublishedJob:
    """A job waiting to be dispatched, read with what its message sends."""

    job: JobRecord
    sent: tuple[DocumentRecord, bytes] | None
    """The live document and the job's version's content; None if they were not read with the
    job (a large content, read on its own when the job goes out, to bound a round's memory) or
    are gone (the document was deleted meanwhile)."""


@dataclass(frozen=True)
class JobStatusUpdate:
    """One worker event for :meth:`JobStatusLedger.apply_job_statuses`."""

    tenant_id: TenantId
    job_id: str
    status: JobStatus
    chunk_count: int | None = None
    reason: str | None = None
    embedding_tokens: int | None = None
    """On ``indexed``: tokens the job's embeddings spent, billed only if the status changes."""
    embedding_model: str | None = None


class DispatchQueue(Protocol):
    """Unfinished jobs: which wait to be published, which are in the broker, how deep it is."""

    async def next_unpublished(self, tenant_id: TenantId, *, limit: int) -> list[UnpublishedJob]:
        """The tenant's unfinished, unpublished jobs, oldest first (what to dispatch next),
        each with its document and content if small: one read for a dispatch round, where a
        read per job was a round trip each."""

    async def tenants_with_unpublished(self, *, limit: int) -> list[TenantId]:
        """Tenants that have jobs waiting to be dispatched."""

    async def mark_jobs_published(self, tenant_id: TenantId, job_ids: Sequence[str]) -> None:
        """Record that the broker confirmed these jobs (one statement for a dispatch round)."""

    async def count_in_flight(self, tenant_id: TenantId) -> int:
        """Jobs of the tenant published to the broker and not yet indexed or failed."""

    async def reset_publication(self) -> int:
        """Mark every unfinished job unpublished (after the in-process broker lost them)."""

    async def unfinished_jobs(
        self, *, published: bool | None, limit: int, offset: int = 0
    ) -> Sequence[JobRecord]:
        """Jobs not yet indexed or failed, oldest first (recovery after a crash or restart)."""

    async def count_unfinished_jobs(self) -> int:
        """Jobs of every tenant not yet indexed or failed: the ingestion backlog."""

    async def count_tenant_unfinished_jobs(self, tenant_id: TenantId) -> int:
        """The tenant's own share of the backlog: its jobs not yet indexed or failed."""


class JobStatusLedger(Protocol):
    """Moving jobs forward (worker events, failed dispatches) and back (an operator's replay)."""

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

    async def reopen_job(self, tenant_id: TenantId, job_id: str) -> bool:
        """Move a failed job back to queued (published), for an operator's replay."""


class JobListing(Protocol):
    """A tenant's jobs as a list to browse (the console's jobs table), newest first."""

    async def find_jobs(
        self,
        tenant_id: TenantId,
        *,
        status: JobStatus | None,
        document_id: str | None,
        limit: int,
        offset: int,
    ) -> list[JobRecord]:
        """The tenant's jobs, newest first, narrowed to one status and/or one document."""
