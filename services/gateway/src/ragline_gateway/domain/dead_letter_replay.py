"""Replaying a dead letter: its message goes back to its queue, and its job back to ``queued``.

The job is reopened before the copy is sent, or the worker's first events for the replay would
reach a failed job and be ignored. That order needs a compensation: if sending the copy fails
once the job is reopened, no message will ever move the job on, so it is failed again with a
reason the operator can read, instead of waiting forever as ``queued``.

Queue-drop (intake) letters are refused: they are parked without the producer's API key, so a
replay would only be refused again; the producer publishes them anew.
"""

from __future__ import annotations

from typing import Protocol

from pydantic import ValidationError

from ragline_common.errors import Conflict, NotFound
from ragline_common.messages import DocumentIngestRequested, JobStatus, parse_message
from ragline_common.ports.broker import DeadLetter, ReplayPreparation
from ragline_common.tenancy import TenantId
from ragline_common.topology import QueueName

REPLAY_NOT_QUEUED = "the replay could not be queued"
"""The failure reason of a job whose replay was reopened but never sent."""


class ParkedMessages(Protocol):
    """The part of the broker that sends a parked message back (see ``Broker``)."""

    async def replay_dead_letter(
        self,
        tenant_id: TenantId,
        dead_letter_id: str,
        *,
        prepare: ReplayPreparation | None = None,
    ) -> DeadLetter: ...


class ReopenableJobs(Protocol):
    """The part of the catalog that moves a job back to ``queued``, or fails it."""

    async def reopen_job(self, tenant_id: TenantId, job_id: str) -> bool: ...

    async def apply_job_status(
        self,
        tenant_id: TenantId,
        job_id: str,
        status: JobStatus,
        *,
        chunk_count: int | None,
        reason: str | None,
    ) -> bool: ...


async def replay_dead_letter(
    broker: ParkedMessages, jobs: ReopenableJobs, tenant_id: TenantId, dead_letter_id: str
) -> None:
    """Send ``tenant_id``'s letter ``dead_letter_id`` back; ``NotFound`` if it has none such."""
    reopened: list[str] = []

    async def reopen(letter: DeadLetter) -> None:
        if letter.queue is QueueName.INTAKE:
            raise Conflict(
                "Queue-drop messages are parked without their API key, so a replay would be "
                "refused again; the producer publishes them anew.",
                code="dead_letter_not_replayable",
            )
        job_id = _ingest_job(letter, tenant_id)
        if job_id is not None:
            await jobs.reopen_job(tenant_id, job_id)
            reopened.append(job_id)

    try:
        await broker.replay_dead_letter(tenant_id, dead_letter_id, prepare=reopen)
    except NotFound:
        raise NotFound("No such dead letter.", code="dead_letter_not_found") from None
    except Exception:
        for job_id in reopened:
            await jobs.apply_job_status(
                tenant_id, job_id, JobStatus.FAILED, chunk_count=None, reason=REPLAY_NOT_QUEUED
            )
        raise


def _ingest_job(letter: DeadLetter, tenant_id: TenantId) -> str | None:
    """The job of a parked ingest command that the letter's own record vouches for.

    Only a letter parked from the ingestion queue, where the gateway alone publishes, carries
    a command to believe, and only for the tenant the record names (the one replaying it).
    """
    if letter.queue is not QueueName.INGESTION or letter.tenant_id != tenant_id:
        return None
    try:
        message = parse_message(letter.body)
    except (ValidationError, ValueError):
        return None
    if isinstance(message, DocumentIngestRequested) and message.tenant_id == tenant_id:
        return message.job_id
    return None
