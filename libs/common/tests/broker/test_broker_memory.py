"""MemoryBroker specifics: topic routing, the scaled default retry tiers, lifecycle."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from ragline_common.adapters.broker.memory import MemoryBroker
from ragline_common.adapters.broker.memory_queue import topic_matches
from ragline_common.errors import (
    PermanentProcessingError,
    TransientProcessingError,
    UpstreamUnavailable,
)
from ragline_common.messages import DocumentDeleteRequested, JobStatus, JobStatusChanged
from ragline_common.ports.broker import Delivery
from ragline_common.tenancy import TenantId
from ragline_common.topology import (
    DELIVERY_LIMIT,
    RETRY_DELAYS_S,
    ROUTING_DELETE,
    ROUTING_JOB_STATUS,
    QueueName,
)

TENANT = TenantId("tenant-a")


@pytest.mark.parametrize(
    ("pattern", "key", "expected"),
    [
        ("document.ingest.v1", "document.ingest.v1", True),
        ("document.ingest.v1", "document.delete.v1", False),
        ("document.*.v1", "document.delete.v1", True),
        ("document.*", "document.delete.v1", False),
        ("#", "anything.at.all", True),
        ("#", "", True),
        ("document.#", "document", True),
        ("document.#.v1", "document.a.b.v1", True),
        ("document.#.v1", "job.status.v1", False),
    ],
)
def test_topic_matching_follows_amqp_rules(pattern: str, key: str, expected: bool) -> None:
    assert topic_matches(pattern, key) is expected


async def test_messages_are_routed_by_binding() -> None:
    broker = MemoryBroker()
    await broker.start()
    await broker.publish(
        DocumentDeleteRequested(tenant_id=TENANT, document_id="d"), routing_key=ROUTING_DELETE
    )
    await broker.publish(
        JobStatusChanged(
            tenant_id=TENANT, job_id="j", document_id="d", version=1, status=JobStatus.INDEXED
        ),
        routing_key=ROUTING_JOB_STATUS,
    )
    depths = {queue: await broker.queue_depth(queue) for queue in QueueName}
    assert depths == {
        QueueName.INGESTION: 1,
        QueueName.JOB_EVENTS: 1,
        QueueName.INTAKE: 0,
        QueueName.DEAD_LETTERS: 0,
        QueueName.DEAD_LETTER_EVENTS: 0,
    }
    await broker.close()


async def test_every_call_needs_a_started_broker() -> None:
    broker = MemoryBroker()
    message = DocumentDeleteRequested(tenant_id=TENANT, document_id="d")
    with pytest.raises(UpstreamUnavailable):
        await broker.publish(message, routing_key=ROUTING_DELETE)
    with pytest.raises(UpstreamUnavailable):
        await broker.ping()
    with pytest.raises(UpstreamUnavailable):
        await broker.list_dead_letters(None, limit=1)


async def test_default_tiers_and_limit_apply_scaled() -> None:
    """Default configuration: retries follow the topology tiers, times ``delay_scale``."""
    scale = 0.002
    broker = MemoryBroker(delay_scale=scale)
    await broker.start()
    loop = asyncio.get_running_loop()
    times: list[float] = []
    failures = DELIVERY_LIMIT + 1
    succeeded = asyncio.Event()

    async def flaky(delivery: Delivery) -> None:
        times.append(loop.time())
        if delivery.attempt < failures:
            raise TransientProcessingError("down")
        succeeded.set()

    await broker.publish(
        DocumentDeleteRequested(tenant_id=TENANT, document_id="d"), routing_key=ROUTING_DELETE
    )
    await broker.consume(QueueName.INGESTION, flaky, prefetch=1)
    await asyncio.wait_for(succeeded.wait(), timeout=10)

    assert len(times) == failures + 1
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    expected = [RETRY_DELAYS_S[min(i, len(RETRY_DELAYS_S) - 1)] * scale for i in range(failures)]
    assert all(gap >= want * 0.9 for gap, want in zip(gaps, expected, strict=True))
    assert await broker.list_dead_letters(None, limit=1) == []
    await broker.close()


def test_negative_delay_scale_is_refused() -> None:
    with pytest.raises(ValueError, match="delay_scale"):
        MemoryBroker(delay_scale=-1)


async def test_dead_letters_are_copied_to_the_gateway_and_never_loop() -> None:
    broker = MemoryBroker(delivery_limit=1)
    await broker.start()
    calls = 0

    async def refuse(delivery: Delivery) -> None:
        raise PermanentProcessingError("no")

    async def crash_on_copy(delivery: Delivery) -> None:
        nonlocal calls
        calls += 1
        raise PermanentProcessingError("cannot handle the copy either")

    try:
        await broker.consume(QueueName.INGESTION, refuse, prefetch=1)
        await broker.consume(QueueName.DEAD_LETTER_EVENTS, crash_on_copy, prefetch=1)
        await broker.publish(
            DocumentDeleteRequested(tenant_id=TENANT, document_id="d"), routing_key=ROUTING_DELETE
        )
        for _ in range(100):
            if calls:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.1)
        assert calls == 1  # the copy was dropped, not parked and fed back again
        assert len(await broker.list_dead_letters(None, 10)) == 1
    finally:
        await broker.close()
