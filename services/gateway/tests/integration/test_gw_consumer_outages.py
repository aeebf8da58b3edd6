"""The gateway's consumers outlive a short catalog outage (defect 4).

A PostgreSQL failover or a locked SQLite file makes every catalog call fail for a few seconds.
Each consumer must turn that into delayed retries: the message is processed once the catalog is
back, nothing is dead-lettered, and no delivery counts against the queue's delivery limit (the
broker's ``redelivered`` flag stays clear). The job-events and intake cases run on real RabbitMQ,
in a throw-away topology namespace; the dead-letter case parks a real letter in the in-process
broker.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import aio_pika
import pytest
from gw_harness import ingest_key_in_catalog
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncConnection

from ragline_common.adapters.broker.memory import MemoryBroker
from ragline_common.adapters.broker.rabbitmq import RabbitMqBroker, delete_topology
from ragline_common.errors import PermanentProcessingError, UpstreamUnavailable
from ragline_common.messages import JobStatus, JobStatusChanged
from ragline_common.ports.broker import Broker, Delivery, Handler
from ragline_common.settings import BrokerSettings
from ragline_common.tenancy import TenantId
from ragline_common.topology import (
    INTAKE_API_KEY_HEADER,
    INTAKE_EXCHANGE,
    ROUTING_INGEST,
    ROUTING_JOB_STATUS,
    QueueName,
)
from ragline_gateway.adapters.catalog import SqlCatalog
from ragline_gateway.consumers.dead_letter_events import DeadLetterEventHandler
from ragline_gateway.consumers.intake import IntakeHandler
from ragline_gateway.consumers.job_events import JobEventHandler
from ragline_gateway.domain.dispatch import JobDispatcher, ingest_message
from ragline_gateway.domain.intake_message import SCHEMA_V1
from ragline_gateway.ports.catalog import DocumentDraft, JobRecord
from ragline_testing.harness import require_service

RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672/"
OUTAGE_S = 1.5
"""Longer than the first retry tiers together, far shorter than any time budget below."""
PEPPER = b"pepper-for-outage-tests"
ADMIN_TOKEN = "operator-token-for-outage-tests-0123"


class Outage:
    """A dependency that refuses every call for a while after :meth:`begin`."""

    def __init__(self, what: str) -> None:
        self._what = what
        self._until = float("-inf")
        self.refused = 0

    def begin(self, seconds: float) -> None:
        self._until = time.monotonic() + seconds

    def check(self) -> None:
        if time.monotonic() < self._until:
            self.refused += 1
            raise UpstreamUnavailable(f"The {self._what} is unavailable.")


class FailingCatalog(SqlCatalog):
    """The SQLite catalog, refusing every statement while its :class:`Outage` lasts (as the
    adapter does when the database is down: ``UpstreamUnavailable``)."""

    def __init__(self, url: str, outage: Outage) -> None:
        super().__init__(url, pool_size=1)
        self.outage = outage

    @asynccontextmanager
    async def _reading(self) -> AsyncIterator[AsyncConnection]:
        self.outage.check()
        async with super()._reading() as connection:
            yield connection

    @asynccontextmanager
    async def _writing(self) -> AsyncIterator[AsyncConnection]:
        self.outage.check()
        async with super()._writing() as connection:
            yield connection


class Deliveries:
    """Wraps a handler and keeps every delivery it was given."""

    def __init__(self, handler: Handler) -> None:
        self._handler = handler
        self.seen: list[Delivery] = []

    async def __call__(self, delivery: Delivery) -> None:
        self.seen.append(delivery)
        await self._handler(delivery)

    def assert_budget_untouched(self) -> None:
        assert len(self.seen) > 1, "the outage never reached the handler"
        assert [delivery.attempt for delivery in self.seen] == list(range(len(self.seen)))
        assert not any(delivery.redelivered for delivery in self.seen)


@pytest.fixture
def outage() -> Outage:
    return Outage("catalog database")


@pytest.fixture
async def catalogs(tmp_path: Path, outage: Outage) -> AsyncIterator[tuple[SqlCatalog, SqlCatalog]]:
    """The failing catalog the consumer uses, and a healthy one on the same file to look with."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'catalog.db'}"
    failing = FailingCatalog(url, outage)
    await failing.open()
    reader = SqlCatalog(url, pool_size=1)
    await reader.open()
    yield failing, reader
    await reader.close()
    await failing.close()


@pytest.fixture
async def rabbit() -> AsyncIterator[tuple[RabbitMqBroker, str]]:
    """A real RabbitMQ broker in a namespace of its own: two deliveries at most, short tiers."""
    require_service("127.0.0.1", 5672, "RabbitMQ")
    namespace = f"test-{uuid.uuid4().hex[:10]}."
    delays = (0.2, 1.0)
    broker = RabbitMqBroker(
        BrokerSettings(url=SecretStr(RABBITMQ_URL), publish_timeout_s=5.0),
        namespace=namespace,
        retry_delays_s=delays,
        delivery_limit=2,
        connect_timeout_s=5.0,
        close_timeout_s=1.0,
    )
    try:
        await broker.start()
        yield broker, namespace
        await broker.close()
    finally:
        await delete_topology(RABBITMQ_URL, namespace, retry_delays_s=delays, timeout_s=5)


async def _queued_job(catalog: SqlCatalog, tenant_id: TenantId) -> JobRecord:
    content = b"Ducks paddle on the lake."
    draft = DocumentDraft(
        title="Ducks",
        source_name="ducks.txt",
        content_type="text/plain",
        content_hash=uuid.uuid4().hex,
        size_bytes=len(content),
        metadata={},
    )
    submission = await catalog.submit_document(tenant_id, draft, content)
    await catalog.mark_jobs_published(tenant_id, [submission.job.id])
    return submission.job


async def _settles(
    done: Callable[[], Awaitable[bool]],
    broker: Broker,
    *,
    parked_on_purpose: int = 0,
    timeout_s: float = 20.0,
) -> None:
    """Wait until ``done`` holds; fail at once if anything else reaches the dead letters."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await done():
            return
        parked = await broker.queue_depth(QueueName.DEAD_LETTERS)
        assert parked <= parked_on_purpose, "dead-lettered"
        await asyncio.sleep(0.05)
    pytest.fail(f"not processed within {timeout_s} s")


async def _job_status(reader: SqlCatalog, tenant_id: TenantId, job_id: str) -> JobStatus | None:
    job = await reader.get_job(tenant_id, job_id)
    return None if job is None else job.status


@pytest.mark.integration
async def test_a_job_status_event_is_applied_after_a_catalog_outage_on_rabbitmq(
    catalogs: tuple[SqlCatalog, SqlCatalog],
    outage: Outage,
    rabbit: tuple[RabbitMqBroker, str],
) -> None:
    catalog, reader = catalogs
    broker, _ = rabbit
    tenant = await catalog.create_tenant("acme")
    job = await _queued_job(catalog, tenant.id)
    handler = Deliveries(
        JobEventHandler(catalog, broker, JobDispatcher(catalog, broker, window=10))
    )
    await broker.consume(QueueName.JOB_EVENTS, handler, prefetch=4)

    outage.begin(OUTAGE_S)
    await broker.publish(
        JobStatusChanged(
            tenant_id=tenant.id,
            job_id=job.id,
            document_id=job.document_id,
            version=job.version,
            status=JobStatus.INDEXED,
            chunk_count=1,
        ),
        routing_key=ROUTING_JOB_STATUS,
    )

    async def indexed() -> bool:
        return await _job_status(reader, tenant.id, job.id) is JobStatus.INDEXED

    await _settles(indexed, broker)
    assert outage.refused > 0
    handler.assert_budget_untouched()
    document = await reader.get_document(tenant.id, job.document_id)
    assert document is not None and document.indexed_version == job.version


@pytest.mark.integration
async def test_an_intake_message_is_accepted_after_a_catalog_outage_on_rabbitmq(
    catalogs: tuple[SqlCatalog, SqlCatalog],
    outage: Outage,
    rabbit: tuple[RabbitMqBroker, str],
) -> None:
    catalog, reader = catalogs
    broker, namespace = rabbit
    tenant_id, key = await ingest_key_in_catalog(catalog, PEPPER, tenant_name="acme")
    handler = Deliveries(
        IntakeHandler(
            catalog=catalog,
            broker=broker,
            dispatcher=JobDispatcher(catalog, broker, window=10),
            key_pepper=PEPPER,
            admin_token=ADMIN_TOKEN,
            max_upload_bytes=4096,
        )
    )
    await broker.consume(QueueName.INTAKE, handler, prefetch=4)

    outage.begin(OUTAGE_S)
    # An outside producer: its own connection to the public intake exchange.
    connection = await aio_pika.connect(RABBITMQ_URL, timeout=5)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(f"{namespace}{INTAKE_EXCHANGE}")
        body = {"schema": SCHEMA_V1, "title": "Notes", "text": "The reactor hums."}
        await exchange.publish(
            aio_pika.Message(
                json.dumps(body).encode(),
                headers={INTAKE_API_KEY_HEADER: key},
                content_type="application/json",
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            ),
            routing_key="document",
        )

    async def accepted() -> bool:
        return bool(await reader.list_documents(tenant_id, limit=10, offset=0))

    await _settles(accepted, broker)
    assert outage.refused > 0
    handler.assert_budget_untouched()


async def test_a_dead_letter_fails_its_job_after_a_catalog_outage(
    catalogs: tuple[SqlCatalog, SqlCatalog], outage: Outage
) -> None:
    catalog, reader = catalogs
    broker = MemoryBroker(delay_scale=0.01, delivery_limit=1, close_timeout_s=1.0)
    await broker.start()
    try:
        tenant = await catalog.create_tenant("acme")
        job = await _queued_job(catalog, tenant.id)
        document = await reader.get_document(tenant.id, job.document_id)
        content = await reader.get_document_content(tenant.id, job.document_id, job.version)
        assert document is not None and content is not None

        async def worker_refuses(delivery: Delivery) -> None:
            raise PermanentProcessingError("the document is poisoned", code="poisoned")

        handler = Deliveries(
            DeadLetterEventHandler(catalog, JobDispatcher(catalog, broker, window=10))
        )
        await broker.consume(QueueName.INGESTION, worker_refuses, prefetch=1)
        await broker.consume(QueueName.DEAD_LETTER_EVENTS, handler, prefetch=4)

        outage.begin(OUTAGE_S)
        await broker.publish(ingest_message(document, job, content), routing_key=ROUTING_INGEST)

        async def failed() -> bool:
            return await _job_status(reader, tenant.id, job.id) is JobStatus.FAILED

        # The worker's refusal parks the ingest message itself: that one letter is expected.
        await _settles(failed, broker, parked_on_purpose=1)
        assert outage.refused > 0
        handler.assert_budget_untouched()
    finally:
        await broker.close()
