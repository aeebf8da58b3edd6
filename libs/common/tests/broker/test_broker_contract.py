"""Behaviour every Broker adapter must show: run on MemoryBroker and on real RabbitMQ."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable

import pytest

from ragline_common.adapters.broker.headers import (
    HEADER_TENANT,
    HEADER_TYPE,
    REASON_DELIVERY_LIMIT,
)
from ragline_common.adapters.broker.memory import MemoryBroker
from ragline_common.adapters.broker.rabbitmq import RabbitMqBroker
from ragline_common.errors import (
    NotFound,
    PermanentProcessingError,
    TransientProcessingError,
    UpstreamUnavailable,
)
from ragline_common.messages import (
    DocumentDeleteRequested,
    DocumentIngestRequested,
    parse_message,
)
from ragline_common.ports.broker import DeadLetter, Delivery
from ragline_common.tenancy import TenantId
from ragline_common.topology import ROUTING_DELETE, QueueName

AnyBroker = MemoryBroker | RabbitMqBroker

TENANT_A = TenantId("tenant-a")
TENANT_B = TenantId("tenant-b")
TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def delete_request(
    tenant: TenantId = TENANT_A, document_id: str = "doc_1"
) -> DocumentDeleteRequested:
    return DocumentDeleteRequested(tenant_id=tenant, document_id=document_id)


async def eventually(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout_s} s")
        await asyncio.sleep(0.02)


async def dead_letters_eventually(
    broker: AnyBroker, count: int, timeout_s: float = 10.0
) -> list[DeadLetter]:
    deadline = time.monotonic() + timeout_s
    while True:
        letters = await broker.list_dead_letters(None, limit=100)
        if len(letters) >= count:
            return letters
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(letters)} dead letters, expected {count}")
        await asyncio.sleep(0.05)


async def depth_eventually(
    broker: AnyBroker, queue: QueueName, depth: int, timeout_s: float = 5.0
) -> None:
    deadline = time.monotonic() + timeout_s
    while (current := await broker.queue_depth(queue)) != depth:
        if time.monotonic() > deadline:
            raise AssertionError(f"{queue} holds {current} messages, expected {depth}")
        await asyncio.sleep(0.05)


class Recorder:
    """Handler that records every delivery (and when), then behaves as told."""

    def __init__(self, behaviour: Callable[[Delivery], Awaitable[None]] | None = None) -> None:
        self.deliveries: list[Delivery] = []
        self.times: list[float] = []
        self._behaviour = behaviour

    async def __call__(self, delivery: Delivery) -> None:
        self.deliveries.append(delivery)
        self.times.append(time.monotonic())
        if self._behaviour is not None:
            await self._behaviour(delivery)


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


async def test_dead_letters_are_listed_by_tenant_and_limit(broker: AnyBroker) -> None:
    async def reject(delivery: Delivery) -> None:
        raise PermanentProcessingError("unsupported")

    for tenant, document in [(TENANT_A, "a1"), (TENANT_B, "b1"), (TENANT_A, "a2")]:
        await broker.publish(delete_request(tenant, document), routing_key=ROUTING_DELETE)
    await broker.consume(QueueName.INGESTION, Recorder(reject), prefetch=1)
    await dead_letters_eventually(broker, 3)

    only_a = await broker.list_dead_letters(TENANT_A, limit=10)
    assert [json.loads(letter.body)["document_id"] for letter in only_a] == ["a1", "a2"]
    oldest_two = await broker.list_dead_letters(None, limit=2)
    assert [json.loads(letter.body)["document_id"] for letter in oldest_two] == ["a1", "b1"]
    # Listing is a read: nothing left the queue (whose depth reflects returns a moment later).
    assert len(await broker.list_dead_letters(None, limit=10)) == 3
    await depth_eventually(broker, QueueName.DEAD_LETTERS, 3)


async def test_replayed_dead_letter_is_processed_again_from_attempt_zero(broker: AnyBroker) -> None:
    fixed = False

    async def until_fixed(delivery: Delivery) -> None:
        if not fixed:
            if delivery.attempt == 0:
                raise TransientProcessingError("down")
            raise PermanentProcessingError("gave up")

    recorder = Recorder(until_fixed)
    message = delete_request()
    await broker.publish(message, routing_key=ROUTING_DELETE)
    await broker.consume(QueueName.INGESTION, recorder, prefetch=1)
    [letter] = await dead_letters_eventually(broker, 1)
    assert len(recorder.deliveries) == 2

    fixed = True
    await broker.replay_dead_letter(letter.id)
    await eventually(lambda: len(recorder.deliveries) == 3)

    replayed = recorder.deliveries[2]
    assert parse_message(replayed.body) == message
    assert (replayed.attempt, replayed.routing_key) == (0, ROUTING_DELETE)
    assert "x-ragline-reason" not in replayed.headers
    assert await broker.list_dead_letters(None, limit=10) == []
    with pytest.raises(NotFound):
        await broker.replay_dead_letter(letter.id)


async def test_purge_dead_letters_of_one_tenant_or_all(broker: AnyBroker) -> None:
    async def reject(delivery: Delivery) -> None:
        raise PermanentProcessingError("unsupported")

    for tenant, document in [
        (TENANT_A, "a1"),
        (TENANT_B, "b1"),
        (TENANT_A, "a2"),
        (TENANT_B, "b2"),
    ]:
        await broker.publish(delete_request(tenant, document), routing_key=ROUTING_DELETE)
    await broker.consume(QueueName.INGESTION, Recorder(reject), prefetch=1)
    await dead_letters_eventually(broker, 4)

    assert await broker.purge_dead_letters(TENANT_A) == 2
    remaining = await broker.list_dead_letters(None, limit=10)
    assert {letter.tenant_id for letter in remaining} == {TENANT_B}
    assert len(remaining) == 2

    assert await broker.purge_dead_letters(None) == 2
    assert await broker.list_dead_letters(None, limit=10) == []
