"""Applying job status events to the catalog, several in one transaction.

A job only moves to a higher rank (``queued`` < ``processing`` < ``indexed`` | ``failed``), so
redelivered or reordered events change nothing. The document mirrors the job of its current
version only: a late event for a version that a newer upload replaced updates that job's
history, not what the document shows. An ``indexed`` event flips the document's searchable
version in the same transaction; the worker prunes older versions only after that (ADR 0008).

Events are applied in memory in their order (a batch may hold a job's ``processing`` and its
``indexed``), then written with one statement per kind for the whole batch: the gateway's cost
is in round trips and statement overhead, not in rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ragline_common.messages import JobStatus
from ragline_gateway.adapters.catalog.tables import documents, jobs
from ragline_gateway.ports.catalog import JobStatusUpdate

_PROGRESS = {
    JobStatus.QUEUED: 0,
    JobStatus.PROCESSING: 1,
    JobStatus.INDEXED: 2,
    JobStatus.FAILED: 2,
}

_UPDATE_JOB = (
    update(jobs)
    .where(jobs.c.id == bindparam("b_job"))
    .values(
        status=bindparam("b_status"),
        chunk_count=bindparam("b_chunks"),
        reason=bindparam("b_reason"),
        updated_at=bindparam("b_now"),
    )
)
# The version test sits in the UPDATE itself: a concurrent submit that bumps the version holds
# the row lock, and PostgreSQL re-checks the condition after it.
_MIRROR_ON_DOCUMENT = (
    update(documents)
    .where(
        documents.c.tenant_id == bindparam("b_tenant"),
        documents.c.id == bindparam("b_document"),
        documents.c.version == bindparam("b_version"),
    )
    .values(
        status=bindparam("b_status"),
        chunk_count=bindparam("b_chunks"),
        updated_at=bindparam("b_now"),
    )
)
# Searches switch to the indexed version in one step.
_FLIP_INDEXED_VERSION = (
    update(documents)
    .where(
        documents.c.tenant_id == bindparam("b_tenant"),
        documents.c.id == bindparam("b_document"),
        documents.c.deleted_at.is_(None),
        or_(
            documents.c.indexed_version.is_(None),
            documents.c.indexed_version < bindparam("b_version"),
        ),
    )
    .values(indexed_version=bindparam("b_version"))
)


def _advances(current: str, status: JobStatus) -> bool:
    return _PROGRESS[status] > _PROGRESS[JobStatus(current)]


async def apply_statuses(
    connection: AsyncConnection, updates: Sequence[JobStatusUpdate], now: datetime
) -> list[bool]:
    """Apply ``updates`` in order inside the caller's transaction; ``changed`` per update."""
    job_ids = sorted({u.job_id for u in updates})
    # Locked in id order, so two replicas applying overlapping batches cannot deadlock.
    locked = await connection.execute(
        select(jobs).where(jobs.c.id.in_(job_ids)).order_by(jobs.c.id).with_for_update()
    )
    state: dict[str, dict[str, Any]] = {row["id"]: dict(row) for row in locked.mappings()}
    changed: list[bool] = []
    touched: dict[str, dict[str, Any]] = {}
    indexed: dict[str, dict[str, Any]] = {}
    for event in updates:
        job = state.get(event.job_id)
        if job is None or job["tenant_id"] != event.tenant_id:
            changed.append(False)  # unknown here, or another tenant's id: never applied
            continue
        if not _advances(job["status"], event.status):
            changed.append(False)
            continue
        job["status"] = event.status.value
        if event.chunk_count is not None:
            job["chunk_count"] = event.chunk_count
        if event.reason is not None:
            job["reason"] = event.reason
        touched[job["id"]] = job
        if event.status is JobStatus.INDEXED:
            indexed[job["id"]] = job
        changed.append(True)
    if touched:
        rows = [_params(job, now) for job in sorted(touched.values(), key=_document_order)]
        await connection.execute(_UPDATE_JOB, rows)
        await connection.execute(_MIRROR_ON_DOCUMENT, rows)
    if indexed:
        rows = [_params(job, now) for job in sorted(indexed.values(), key=_document_order)]
        await connection.execute(_FLIP_INDEXED_VERSION, rows)
    return changed


def _document_order(job: dict[str, Any]) -> tuple[str, str]:
    return (job["document_id"], job["id"])


def _params(job: dict[str, Any], now: datetime) -> dict[str, Any]:
    return {
        "b_job": job["id"],
        "b_tenant": job["tenant_id"],
        "b_document": job["document_id"],
        "b_version": job["version"],
        "b_status": job["status"],
        "b_chunks": job["chunk_count"],
        "b_reason": job["reason"],
        "b_now": now,
    }
