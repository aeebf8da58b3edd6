"""Dead-letter replay: the job is reopened before the copy goes, and failed again if it cannot.

The broker here is scripted to fail at the one moment the real ones cannot be made to fail on
cue (after the letter was found and prepared, while the copy is sent).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from ragline_common.errors import Conflict, NotFound, UpstreamUnavailable
from ragline_common.messages import DocumentIngestRequested, JobStatus, encode_message
from ragline_common.ports.broker import DeadLetter, ReplayPreparation
from ragline_common.tenancy import TenantId
from ragline_common.topology import QueueName
from ragline_gateway.domain.dead_letter_replay import REPLAY_NOT_QUEUED, replay_dead_letter

TENANT = TenantId("ten_alpha")


def _letter(queue: QueueName = QueueName.INGESTION, job_id: str = "job_1") -> DeadLetter:
    command = DocumentIngestRequested(
        tenant_id=TENANT,
        document_id="doc_1",
        job_id=job_id,
        version=1,
        title="Handbook",
        source_name="handbook.txt",
        content_type="text/plain",
        content=b"text",
        content_hash="hash",
    )
    return DeadLetter(
        id="evt_1",
        queue=queue,
        routing_key="document.ingest.v1",
        tenant_id=TENANT,
        reason="the document is poisoned",
        dead_lettered_at=datetime.now(UTC),
        body=encode_message(command),
    )


@dataclass
class ScriptedBroker:
    """Holds one letter of ``TENANT``; sending its copy fails when ``send_fails``."""

    letter: DeadLetter
    send_fails: bool = False
    replayed: list[tuple[TenantId, str]] = field(default_factory=list)

    async def replay_dead_letter(
        self,
        tenant_id: TenantId,
        dead_letter_id: str,
        *,
        prepare: ReplayPreparation | None = None,
    ) -> DeadLetter:
        if (tenant_id, dead_letter_id) != (self.letter.tenant_id, self.letter.id):
            raise NotFound(f"No dead letter with id {dead_letter_id}.")
        if prepare is not None:
            await prepare(self.letter)
        if self.send_fails:
            raise UpstreamUnavailable("The broker is unavailable.")
        self.replayed.append((tenant_id, dead_letter_id))
        return self.letter


@dataclass
class RecordingJobs:
    changes: list[tuple[TenantId, str, JobStatus, str | None]] = field(default_factory=list)

    async def reopen_job(self, tenant_id: TenantId, job_id: str) -> bool:
        self.changes.append((tenant_id, job_id, JobStatus.QUEUED, None))
        return True

    async def apply_job_status(
        self,
        tenant_id: TenantId,
        job_id: str,
        status: JobStatus,
        *,
        chunk_count: int | None,
        reason: str | None,
    ) -> bool:
        self.changes.append((tenant_id, job_id, status, reason))
        return True


async def test_a_replay_reopens_the_job_of_the_letter_then_sends_it() -> None:
    broker, jobs = ScriptedBroker(_letter()), RecordingJobs()

    await replay_dead_letter(broker, jobs, TENANT, "evt_1")

    assert jobs.changes == [(TENANT, "job_1", JobStatus.QUEUED, None)]
    assert broker.replayed == [(TENANT, "evt_1")]


async def test_a_replay_that_cannot_be_sent_fails_the_reopened_job_again() -> None:
    broker, jobs = ScriptedBroker(_letter(), send_fails=True), RecordingJobs()

    with pytest.raises(UpstreamUnavailable):
        await replay_dead_letter(broker, jobs, TENANT, "evt_1")

    assert jobs.changes == [
        (TENANT, "job_1", JobStatus.QUEUED, None),
        (TENANT, "job_1", JobStatus.FAILED, REPLAY_NOT_QUEUED),
    ]


async def test_another_tenants_or_a_missing_letter_is_not_found_and_touches_no_job() -> None:
    broker, jobs = ScriptedBroker(_letter()), RecordingJobs()

    for tenant, letter_id in ((TenantId("ten_beta"), "evt_1"), (TENANT, "evt_2")):
        with pytest.raises(NotFound) as missing:
            await replay_dead_letter(broker, jobs, tenant, letter_id)
        assert missing.value.code == "dead_letter_not_found"

    assert jobs.changes == [] and broker.replayed == []


async def test_a_queue_drop_letter_is_refused_and_stays_parked() -> None:
    broker, jobs = ScriptedBroker(_letter(QueueName.INTAKE)), RecordingJobs()

    with pytest.raises(Conflict) as refused:
        await replay_dead_letter(broker, jobs, TENANT, "evt_1")

    assert refused.value.code == "dead_letter_not_replayable"
    assert jobs.changes == [] and broker.replayed == []
