"""Broker contract, delivery: headers, acks, prefetch and closing, on MemoryBroker and on real
RabbitMQ (the ``broker`` fixture of this folder's ``conftest.py``).
"""

from __future__ import annotations

import asyncio
import time

import pytest
from broker_harness import (
    TENANT_A,
    TENANT_B,
    TRACEPARENT,
    AnyBroker,
    Recorder,
    delete_request,
    eventually,
)

from ragline_common.adapters.broker.headers import HEADER_TENANT, HEADER_TYPE
from ragline_common.errors import UpstreamUnavailable
from ragline_common.messages import parse_message
from ragline_common.ports.broker import Delivery
from ragline_common.topology import ROUTING_DELETE, QueueName


async def test_confirmed_publish_is_delivered_once_with_headers(broker: AnyBroker) -> None:
    message = delete_request()
    await broker.publish(message, routing_key=ROUTING_DELETE, headers={"traceparent": TRACEPARENT})
    recorder = Recorder()

    await broker.consume(QueueName.INGESTION, recorder, prefetch=4)
    await eventually(lambda: len(recorder.deliveries) == 1)
    await asyncio.sleep(0.3)

    assert len(recorder.deliveries) == 1
    delivery = recorder.deliveries[0]
    assert parse_message(delivery.body) == message
    assert delivery.routing_key == ROUTING_DELETE
    assert delivery.headers[HEADER_TENANT] == TENANT_A
    assert delivery.headers[HEADER_TYPE] == "document.delete.v1"
    assert delivery.headers["traceparent"] == TRACEPARENT
    assert (delivery.attempt, delivery.redelivered) == (0, False)


async def test_caller_headers_cannot_spoof_the_tenant(broker: AnyBroker) -> None:
    await broker.publish(
        delete_request(TENANT_A), routing_key=ROUTING_DELETE, headers={HEADER_TENANT: TENANT_B}
    )
    recorder = Recorder()
    await broker.consume(QueueName.INGESTION, recorder, prefetch=1)
    await eventually(lambda: len(recorder.deliveries) == 1)
    assert recorder.deliveries[0].headers[HEADER_TENANT] == TENANT_A


async def test_handled_message_is_acked_and_gone_after_reconnect(broker: AnyBroker) -> None:
    await broker.publish(delete_request(), routing_key=ROUTING_DELETE)
    recorder = Recorder()
    await broker.consume(QueueName.INGESTION, recorder, prefetch=1)
    await eventually(lambda: len(recorder.deliveries) == 1)

    await broker.close()  # an unacked message would return to the queue here
    await broker.start()

    assert await broker.queue_depth(QueueName.INGESTION) == 0
    assert await broker.list_dead_letters(None, limit=10) == []


async def test_queue_depth_counts_ready_messages_per_queue(broker: AnyBroker) -> None:
    for index in range(3):
        await broker.publish(delete_request(document_id=f"doc_{index}"), routing_key=ROUTING_DELETE)

    assert await broker.queue_depth(QueueName.INGESTION) == 3
    assert await broker.queue_depth(QueueName.JOB_EVENTS) == 0
    assert await broker.queue_depth(QueueName.DEAD_LETTERS) == 0


async def test_message_of_a_consumer_stopped_before_ack_is_redelivered(broker: AnyBroker) -> None:
    never = asyncio.Event()

    async def hang(delivery: Delivery) -> None:
        await never.wait()

    stuck = Recorder(hang)
    await broker.publish(delete_request(), routing_key=ROUTING_DELETE)
    await broker.consume(QueueName.INGESTION, stuck, prefetch=1)
    await eventually(lambda: len(stuck.deliveries) == 1)

    started = time.monotonic()
    await broker.close()  # grace period 1 s, then the stuck handler is cancelled unacked
    assert time.monotonic() - started < 5
    await broker.start()
    fresh = Recorder()
    await broker.consume(QueueName.INGESTION, fresh, prefetch=1)

    await eventually(lambda: len(fresh.deliveries) == 1)
    assert fresh.deliveries[0].redelivered is True
    assert len(stuck.deliveries) == 1


async def test_close_waits_for_in_flight_handlers(broker: AnyBroker) -> None:
    finished: list[str] = []

    async def slow(delivery: Delivery) -> None:
        await asyncio.sleep(0.3)
        finished.append(delivery.routing_key)

    recorder = Recorder(slow)
    await broker.publish(delete_request(), routing_key=ROUTING_DELETE)
    await broker.consume(QueueName.INGESTION, recorder, prefetch=1)
    await eventually(lambda: len(recorder.deliveries) == 1)

    await broker.close()
    assert finished == [ROUTING_DELETE]
    await broker.start()
    assert await broker.queue_depth(QueueName.INGESTION) == 0


async def test_prefetch_bounds_concurrent_handlers(broker: AnyBroker) -> None:
    gate = asyncio.Event()
    active = 0
    peak = 0

    async def blocking(delivery: Delivery) -> None:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await gate.wait()
        active -= 1

    recorder = Recorder(blocking)
    for index in range(6):
        await broker.publish(delete_request(document_id=f"doc_{index}"), routing_key=ROUTING_DELETE)
    await broker.consume(QueueName.INGESTION, recorder, prefetch=2)

    await eventually(lambda: active == 2)
    await asyncio.sleep(0.3)
    assert (peak, len(recorder.deliveries)) == (2, 2)

    gate.set()
    await eventually(lambda: len(recorder.deliveries) == 6)
    assert peak == 2


async def test_publish_to_a_closed_broker_fails_fast(broker: AnyBroker) -> None:
    await broker.close()

    started = time.monotonic()
    with pytest.raises(UpstreamUnavailable):
        await broker.publish(delete_request(), routing_key=ROUTING_DELETE)
    with pytest.raises(UpstreamUnavailable):
        await broker.ping()
    assert time.monotonic() - started < 1

    await broker.start()
    await broker.ping()
