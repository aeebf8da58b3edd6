"""Failing jobs from dead letters: only letters Ragline parked from its own ingestion queue.

An outside producer can publish any body to the intake, including one shaped like another
tenant's ingest command; refused, it is parked like any intake message. It must not fail
the job it names.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime

from ragline_common.adapters.broker.memory import MemoryBroker, _Stored
from ragline_common.messages import JobStatus, encode_message
from ragline_common.ports.broker import DeadLetter, Delivery
from ragline_common.tenancy import TenantId
from ragline_common.topology import INTAKE_EXCHANGE, ROUTING_INGEST, QueueName
from ragline_gateway.adapters.catalog import SqlCatalog
from ragline_gateway.consumers.dead_letter_events import DeadLetterEventHandler
from ragline_gateway.consumers.intake import IntakeHandler
from ragline_gateway.domain.dispatch import JobDispatcher, ingest_message
from ragline_gateway.domain.uploads import submit_upload
from ragline_gateway.ports.catalog import DocumentDraft, Submission

FORGED_HEADERS = {
    "x-ragline-tenant": "",  # filled with the victim's id
    "x-ragline-queue": QueueName.INGESTION.value,
    "x-ragline-type": "document.ingest.v1",
    "x-ragline-reason": "forged",
}


async def _victims_job(catalog: SqlCatalog, broker: MemoryBroker) -> tuple[Submission, bytes]:
    """A queued upload of its own tenant, and an ingest command naming it."""
    tenant = TenantId((await catalog.create_tenant("victim")).id)
    draft = DocumentDraft(
        title="Plans",
        source_name="plans.txt",
        content_type="text/plain",
        content_hash="hash-plans",
        size_bytes=5,
        metadata={},
    )
    submission = await submit_upload(
        catalog, JobDispatcher(catalog, broker, window=10), tenant, draft, b"plans"
    )
    command = ingest_message(submission.document, submission.job, b"plans")
    return submission, encode_message(command)


async def _status(catalog: SqlCatalog, submission: Submission) -> JobStatus:
    job = await catalog.get_job(submission.document.tenant_id, submission.job.id)
    assert job is not None
    return job.status


async def test_a_forged_command_dropped_into_the_intake_fails_no_job(
    catalog: SqlCatalog, broker: MemoryBroker
) -> None:
    submission, forged_body = await _victims_job(catalog, broker)
    before = await _status(catalog, submission)
    dispatcher = JobDispatcher(catalog, broker, window=10)
    handled = asyncio.Event()
    events = DeadLetterEventHandler(catalog, dispatcher)

    async def on_dead_letter(delivery: Delivery) -> None:
        await events(delivery)
        handled.set()

    intake = IntakeHandler(
        catalog=catalog,
        broker=broker,
        dispatcher=dispatcher,
        key_pepper=b"pepper",
        admin_token="operator-token-0123456789abcdef",
        max_upload_bytes=1 << 20,
    )
    await broker.consume(QueueName.INTAKE, intake, prefetch=1)
    await broker.consume(QueueName.DEAD_LETTER_EVENTS, on_dead_letter, prefetch=1)
    headers = {**FORGED_HEADERS, "x-ragline-tenant": submission.document.tenant_id}
    # What RabbitMQ would deliver from an outside producer (no API key: refused, parked).
    broker._route(INTAKE_EXCHANGE, _Stored(forged_body, "document.intake.v1", "evt_x", headers))

    await asyncio.wait_for(handled.wait(), timeout=5)

    assert await _status(catalog, submission) == before
    [letter] = await broker.list_dead_letters(None, limit=10)
    assert (letter.queue, letter.tenant_id) == (QueueName.INTAKE, None)


async def test_a_letter_fails_a_job_only_of_the_tenant_ragline_parked_it_for(
    catalog: SqlCatalog, broker: MemoryBroker
) -> None:
    submission, body = await _victims_job(catalog, broker)
    victim = submission.document.tenant_id
    handler = DeadLetterEventHandler(catalog, JobDispatcher(catalog, broker, window=10))
    parked = DeadLetter(
        id="evt_1",
        queue=QueueName.INGESTION,
        routing_key=ROUTING_INGEST,
        tenant_id=TenantId("someone-else"),
        reason="worker crashed",
        dead_lettered_at=datetime.now(UTC),
        body=body,
    )

    def delivered(letter: DeadLetter | None) -> Delivery:
        return Delivery(body=body, routing_key=ROUTING_INGEST, headers={}, dead_letter=letter)

    await handler(delivered(parked))  # the command names the victim, the record another tenant
    await handler(delivered(None))  # no record: not from a parking queue at all
    await handler(delivered(replace(parked, tenant_id=victim, queue=QueueName.INTAKE)))
    assert await _status(catalog, submission) is not JobStatus.FAILED

    await handler(delivered(replace(parked, tenant_id=victim)))
    job = await catalog.get_job(victim, submission.job.id)
    assert job is not None and job.status is JobStatus.FAILED
    assert job.reason is not None and job.reason.startswith("worker crashed (dead-lettered")
