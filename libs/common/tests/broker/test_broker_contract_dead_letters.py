"""Broker contract, dead letters: listing, replay and purge scoped to a tenant, and what a
parked letter is believed to say. Runs on MemoryBroker and on real RabbitMQ (the ``broker``
fixture of this folder's ``conftest.py``).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import aio_pika
import pytest
from broker_harness import (
    RABBITMQ_URL,
    TENANT_A,
    TENANT_B,
    AnyBroker,
    Recorder,
    dead_letters_eventually,
    delete_request,
    depth_eventually,
    eventually,
)

from ragline_common.adapters.broker.memory import MemoryBroker, _Stored
from ragline_common.errors import NotFound, PermanentProcessingError, TransientProcessingError
from ragline_common.messages import parse_message
from ragline_common.ports.broker import DeadLetter, Delivery
from ragline_common.topology import (
    INTAKE_API_KEY_HEADER,
    INTAKE_EXCHANGE,
    ROUTING_DELETE,
    QueueName,
)


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
    await broker.replay_dead_letter(TENANT_A, letter.id)
    await eventually(lambda: len(recorder.deliveries) == 3)

    replayed = recorder.deliveries[2]
    assert parse_message(replayed.body) == message
    assert (replayed.attempt, replayed.routing_key) == (0, ROUTING_DELETE)
    assert "x-ragline-reason" not in replayed.headers
    assert await broker.list_dead_letters(None, limit=10) == []
    with pytest.raises(NotFound):
        await broker.replay_dead_letter(TENANT_A, letter.id)


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


# -- what a parked letter is believed to say ------------------------------------------------
#
# An outside producer writes the intake message's body and headers; everything it claims there
# (tenant, type, origin queue, reason, ...) must stay a claim, and its API key is never parked.
# Replay and listing are scoped to a tenant and read a bounded part of the dead-letter queue.

PRODUCER_KEY = "rl_producerSecretKey0123456789abcdefgh"
PRODUCER_ROUTING_KEY = "document.intake.v1"
FORGED = {
    "x-ragline-tenant": TENANT_B,
    "x-ragline-type": "document.ingest.v1",
    "x-ragline-queue": QueueName.INGESTION.value,
    "x-ragline-reason": "forged reason",
    "x-ragline-dead-lettered-at": "2000-01-01T00:00:00+00:00",
    "x-ragline-routing-key": "document.ingest.v1",
    "x-ragline-published-at": "1.0",
}


async def drop_into_intake(broker: AnyBroker, body: bytes, headers: dict[str, str]) -> None:
    """Publish as an outside producer would: any body, any headers, on the intake exchange."""
    if isinstance(broker, MemoryBroker):
        # The in-process broker has no door for outside producers; route as RabbitMQ would.
        stored = _Stored(body, PRODUCER_ROUTING_KEY, "evt_producer", dict(headers))
        broker._route(INTAKE_EXCHANGE, stored)
        return
    connection = await aio_pika.connect(RABBITMQ_URL, timeout=5)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(broker._name(INTAKE_EXCHANGE))
        await exchange.publish(
            aio_pika.Message(body, headers=dict(headers), message_id="evt_producer"),
            routing_key=PRODUCER_ROUTING_KEY,
        )


async def raw_parked_headers(broker: AnyBroker) -> list[dict[str, object]]:
    """The headers stored in the dead-letter queue itself, not the adapter's view of them."""
    if isinstance(broker, MemoryBroker):
        return [dict(message.headers) for message in broker._dead_letters.snapshot()]
    found: list[dict[str, object]] = []
    connection = await aio_pika.connect(RABBITMQ_URL, timeout=5)
    async with connection:
        channel = await connection.channel()
        queue = await channel.get_queue(broker._name(QueueName.DEAD_LETTERS), ensure=False)
        while (message := await queue.get(no_ack=False, fail=False, timeout=5)) is not None:
            found.append(dict(message.headers or {}))
        # Closing the channel returns every message read without an ack.
    return found


async def refuse(delivery: Delivery) -> None:
    raise PermanentProcessingError("not a valid intake message")


async def crash(delivery: Delivery) -> None:
    raise RuntimeError("bug in the intake handler")


OUTCOMES = [pytest.param(refuse, id="refused"), pytest.param(crash, id="delivery-limit")]


@pytest.mark.parametrize("outcome", OUTCOMES)
async def test_a_producers_api_key_never_reaches_a_parked_letter(
    broker: AnyBroker, outcome: Callable[[Delivery], Awaitable[None]]
) -> None:
    await drop_into_intake(broker, b"{}", {INTAKE_API_KEY_HEADER: PRODUCER_KEY})
    recorder = Recorder(outcome)
    await broker.consume(QueueName.INTAKE, recorder, prefetch=1)

    [letter] = await dead_letters_eventually(broker, 1)

    # The handler needed the key to authenticate; the parked copy must not keep it.
    assert recorder.deliveries[0].headers[INTAKE_API_KEY_HEADER] == PRODUCER_KEY
    assert PRODUCER_KEY not in json.dumps(dict(letter.headers))
    raw = await raw_parked_headers(broker)
    assert len(raw) == 1
    assert PRODUCER_KEY not in str(raw)


@pytest.mark.parametrize("outcome", OUTCOMES)
async def test_ragline_headers_forged_by_an_outside_producer_are_not_believed(
    broker: AnyBroker, outcome: Callable[[Delivery], Awaitable[None]]
) -> None:
    before = datetime.now(UTC) - timedelta(seconds=5)
    await drop_into_intake(broker, b"{}", {**FORGED, INTAKE_API_KEY_HEADER: PRODUCER_KEY})
    recorder = Recorder(outcome)
    await broker.consume(QueueName.INTAKE, recorder, prefetch=1)
    [letter] = await dead_letters_eventually(broker, 1)

    seen = recorder.deliveries[0]
    assert seen.routing_key == PRODUCER_ROUTING_KEY
    assert not set(FORGED) & set(seen.headers)
    assert letter.tenant_id is None
    assert letter.queue is QueueName.INTAKE
    assert letter.routing_key == PRODUCER_ROUTING_KEY
    assert letter.reason != FORGED["x-ragline-reason"]
    assert letter.dead_lettered_at > before
    assert "x-ragline-type" not in letter.headers
    assert await broker.list_dead_letters(TENANT_B, limit=10) == []


async def test_dead_letter_events_carry_the_letter_as_ragline_recorded_it(
    broker: AnyBroker,
) -> None:
    """The parking-queue consumer is handed the same record the listing shows, not claims."""
    await drop_into_intake(broker, b"{}", FORGED)
    await broker.publish(delete_request(TENANT_A), routing_key=ROUTING_DELETE)
    await broker.consume(QueueName.INTAKE, Recorder(refuse), prefetch=1)
    await broker.consume(QueueName.INGESTION, Recorder(refuse), prefetch=1)
    events = Recorder()
    await broker.consume(QueueName.DEAD_LETTER_EVENTS, events, prefetch=2)

    await eventually(lambda: len(events.deliveries) == 2)

    parked = {d.dead_letter.queue: d.dead_letter for d in events.deliveries if d.dead_letter}
    assert set(parked) == {QueueName.INTAKE, QueueName.INGESTION}
    assert parked[QueueName.INTAKE].tenant_id is None
    assert parked[QueueName.INTAKE].reason == "not a valid intake message"
    assert parked[QueueName.INGESTION].tenant_id == TENANT_A


async def test_replay_finds_a_letter_only_under_its_own_tenant(broker: AnyBroker) -> None:
    """Ids are not unique across tenants (a producer chooses its message ids): scope them."""
    shared_id = "evt_same_id"
    b_message = delete_request(TENANT_B, "b1").model_copy(update={"event_id": shared_id})
    a_message = delete_request(TENANT_A, "a1").model_copy(update={"event_id": shared_id})
    await broker.publish(b_message, routing_key=ROUTING_DELETE)
    await broker.publish(a_message, routing_key=ROUTING_DELETE)
    refusing = Recorder(refuse)
    await broker.consume(QueueName.INGESTION, refusing, prefetch=1)
    await dead_letters_eventually(broker, 2)
    b_only = delete_request(TENANT_B, "b2")
    await broker.publish(b_only, routing_key=ROUTING_DELETE)
    await dead_letters_eventually(broker, 3)

    with pytest.raises(NotFound):
        await broker.replay_dead_letter(TENANT_A, b_only.event_id)
    await broker.replay_dead_letter(TENANT_A, shared_id)
    await eventually(lambda: len(refusing.deliveries) == 4)

    replayed = parse_message(refusing.deliveries[3].body)
    assert replayed.tenant_id == TENANT_A
    await dead_letters_eventually(broker, 3)  # refused again, parked again
    left_of_b = await broker.list_dead_letters(TENANT_B, limit=10)
    assert sorted(json.loads(letter.body)["document_id"] for letter in left_of_b) == ["b1", "b2"]


async def test_a_listing_reads_one_window_and_the_next_listing_the_next(
    broker: AnyBroker, dead_letter_scan_limit: int
) -> None:
    """A listing costs at most the scan limit; replay and purge still reach every letter."""
    of_a = [delete_request(TENANT_A, f"a{index}") for index in range(dead_letter_scan_limit + 1)]
    of_b = delete_request(TENANT_B, "b-last")
    for message in [*of_a, of_b]:
        await broker.publish(message, routing_key=ROUTING_DELETE)
    refusing = Recorder(refuse)
    await broker.consume(QueueName.INGESTION, refusing, prefetch=1)
    await eventually(lambda: len(refusing.deliveries) == len(of_a) + 1)
    await depth_eventually(broker, QueueName.DEAD_LETTERS, len(of_a) + 1)

    first = await broker.list_dead_letters(None, limit=100)
    second = await broker.list_dead_letters(None, limit=100)

    assert len(first) == len(second) == dead_letter_scan_limit
    every_id = {message.event_id for message in [*of_a, of_b]}
    assert {letter.id for letter in [*first, *second]} == every_id
    prepared: list[DeadLetter] = []

    async def prepare(letter: DeadLetter) -> None:
        prepared.append(letter)

    replayed = await broker.replay_dead_letter(TENANT_B, of_b.event_id, prepare=prepare)
    assert prepared == [replayed]
    assert (replayed.id, replayed.tenant_id) == (of_b.event_id, TENANT_B)
    await eventually(lambda: len(refusing.deliveries) == len(of_a) + 2)
    # Purging is not windowed: erasing a tenant must remove every one of its letters.
    assert await broker.purge_dead_letters(TENANT_A) == len(of_a)
