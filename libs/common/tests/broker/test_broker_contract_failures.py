"""Broker contract, failing handlers: transient errors retry with growing delays, permanent
ones are parked once with their reason, unexpected ones are redelivered up to the limit. Runs on
MemoryBroker and on real RabbitMQ (the ``broker`` fixture of this folder's ``conftest.py``).
"""

from __future__ import annotations

import asyncio
import json

import pytest
from broker_harness import (
    TENANT_A,
    TENANT_B,
    TRACEPARENT,
    AnyBroker,
    Recorder,
    dead_letters_eventually,
    delete_request,
    depth_eventually,
    eventually,
)

from ragline_common.adapters.broker.headers import REASON_DELIVERY_LIMIT
from ragline_common.errors import PermanentProcessingError, TransientProcessingError
from ragline_common.messages import DocumentIngestRequested, parse_message
from ragline_common.ports.broker import Delivery
from ragline_common.topology import ROUTING_DELETE, QueueName


async def test_transient_errors_retry_with_attempts_beyond_the_delivery_limit(
    broker: AnyBroker, delivery_limit: int
) -> None:
    failures = delivery_limit + 1

    async def flaky(delivery: Delivery) -> None:
        if delivery.attempt < failures:
            raise TransientProcessingError("vector store down")

    recorder = Recorder(flaky)
    message = delete_request()
    await broker.publish(message, routing_key=ROUTING_DELETE)
    await broker.consume(QueueName.INGESTION, recorder, prefetch=1)

    await eventually(lambda: len(recorder.deliveries) == failures + 1, timeout_s=20)
    await asyncio.sleep(0.3)

    assert [d.attempt for d in recorder.deliveries] == list(range(failures + 1))
    assert all(parse_message(d.body) == message for d in recorder.deliveries)
    # Retries are fresh copies with the original routing key, not broker redeliveries.
    assert {(d.routing_key, d.redelivered) for d in recorder.deliveries} == {
        (ROUTING_DELETE, False)
    }
    assert await broker.list_dead_letters(None, limit=10) == []
    assert await broker.queue_depth(QueueName.INGESTION) == 0


async def test_transient_retries_wait_for_growing_delays(
    broker: AnyBroker, retry_delays_s: tuple[float, ...]
) -> None:
    async def fail_twice(delivery: Delivery) -> None:
        if delivery.attempt < 2:
            raise TransientProcessingError("embedder down")

    recorder = Recorder(fail_twice)
    await broker.publish(delete_request(), routing_key=ROUTING_DELETE)
    await broker.consume(QueueName.INGESTION, recorder, prefetch=1)
    await eventually(lambda: len(recorder.deliveries) == 3, timeout_s=20)

    first_gap = recorder.times[1] - recorder.times[0]
    second_gap = recorder.times[2] - recorder.times[1]
    assert first_gap >= retry_delays_s[0] * 0.9
    assert second_gap >= retry_delays_s[1] * 0.9


@pytest.mark.parametrize(
    ("behaviour", "reason_start"),
    [
        pytest.param(
            PermanentProcessingError("document is encrypted"),
            "document is encrypted",
            id="permanent",
        ),
        pytest.param("validation", "invalid message: ", id="validation"),
        pytest.param("json", "malformed JSON: ", id="json"),
    ],
)
async def test_permanent_failures_are_dead_lettered_once_with_reason(
    broker: AnyBroker, behaviour: Exception | str, reason_start: str
) -> None:
    async def fail(delivery: Delivery) -> None:
        if behaviour == "validation":
            DocumentIngestRequested.model_validate_json(delivery.body)
        elif behaviour == "json":
            json.loads(delivery.body[:-1])
        else:
            assert isinstance(behaviour, Exception)
            raise behaviour

    recorder = Recorder(fail)
    message = delete_request(TENANT_B)
    await broker.publish(message, routing_key=ROUTING_DELETE, headers={"traceparent": TRACEPARENT})
    await broker.consume(QueueName.INGESTION, recorder, prefetch=1)

    [letter] = await dead_letters_eventually(broker, 1)
    await asyncio.sleep(0.3)

    assert len(recorder.deliveries) == 1
    assert letter.reason.startswith(reason_start)
    assert letter.id == message.event_id
    assert letter.queue is QueueName.INGESTION
    assert letter.routing_key == ROUTING_DELETE
    assert letter.tenant_id == TENANT_B
    assert parse_message(letter.body) == message
    assert letter.headers["traceparent"] == TRACEPARENT
    assert await broker.queue_depth(QueueName.INGESTION) == 0
    await depth_eventually(broker, QueueName.DEAD_LETTERS, 1)


async def test_dead_letter_reason_is_truncated(broker: AnyBroker) -> None:
    async def fail(delivery: Delivery) -> None:
        raise PermanentProcessingError("x" * 5000)

    await broker.publish(delete_request(), routing_key=ROUTING_DELETE)
    await broker.consume(QueueName.INGESTION, Recorder(fail), prefetch=1)
    [letter] = await dead_letters_eventually(broker, 1)
    assert letter.reason == "x" * 1000


async def test_unexpected_errors_are_redelivered_then_parked_at_the_limit(
    broker: AnyBroker, delivery_limit: int
) -> None:
    async def crash(delivery: Delivery) -> None:
        raise RuntimeError("bug")

    recorder = Recorder(crash)
    message = delete_request()
    await broker.publish(message, routing_key=ROUTING_DELETE)
    await broker.consume(QueueName.INGESTION, recorder, prefetch=1)

    [letter] = await dead_letters_eventually(broker, 1)
    await asyncio.sleep(0.3)

    assert [d.redelivered for d in recorder.deliveries] == [False] + [True] * delivery_limit
    assert {d.attempt for d in recorder.deliveries} == {0}
    assert letter.reason == REASON_DELIVERY_LIMIT
    assert letter.queue is QueueName.INGESTION
    assert letter.routing_key == ROUTING_DELETE
    assert letter.tenant_id == TENANT_A
    assert letter.id == message.event_id
    assert await broker.queue_depth(QueueName.INGESTION) == 0


async def test_unexpected_error_then_success_is_acked_after_one_redelivery(
    broker: AnyBroker,
) -> None:
    async def crash_once(delivery: Delivery) -> None:
        if not delivery.redelivered:
            raise RuntimeError("flaky bug")

    recorder = Recorder(crash_once)
    await broker.publish(delete_request(), routing_key=ROUTING_DELETE)
    await broker.consume(QueueName.INGESTION, recorder, prefetch=1)
    await eventually(lambda: len(recorder.deliveries) == 2)
    await asyncio.sleep(0.3)

    assert [d.redelivered for d in recorder.deliveries] == [False, True]
    assert await broker.list_dead_letters(None, limit=10) == []
