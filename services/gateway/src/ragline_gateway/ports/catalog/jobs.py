"""The job roles of the catalog: a job's records, how its status moves, and the job list.

A job is one document version on its way to the index. The gateway publishes it when its
tenant's dispatch window has room (:class:`~ragline_gateway.ports.catalog.dispatch_queue.
DispatchQueue`), and the worker's events, an operator's replay or a failed dispatch move its
status (:class:`JobStatusLedger`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ragline_common.messages import JobStatus
from ragline_common.tenancy import TenantId


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
