"""RabbitMQ-only behaviour: the declared topology, process death, unreachable broker."""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any

import aio_pika
import pytest
from aio_pika.exceptions import ChannelPreconditionFailed
from pydantic import SecretStr

from ragline_common.adapters.broker.rabbitmq import RabbitMqBroker
from ragline_common.errors import UpstreamUnavailable
from ragline_common.messages import DocumentDeleteRequested
from ragline_common.ports.broker import Delivery
from ragline_common.settings import BrokerSettings
from ragline_common.tenancy import TenantId
from ragline_common.topology import DELIVERY_LIMIT, ROUTING_DELETE, QueueName, retry_queue_name

RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672/"
DELAYS_S = (0.2, 1.0)
LIMIT = 2


def make_broker(namespace: str, url: str = RABBITMQ_URL) -> RabbitMqBroker:
    return RabbitMqBroker(
        BrokerSettings(url=SecretStr(url), publish_timeout_s=5.0),
        namespace=namespace,
        retry_delays_s=DELAYS_S,
        delivery_limit=LIMIT,
        connect_timeout_s=2.0,
        close_timeout_s=1.0,
    )


async def test_start_against_an_unreachable_broker_fails_fast() -> None:
    broker = make_broker("unused.", url="amqp://guest:guest@127.0.0.1:1/")
    started = time.monotonic()
    with pytest.raises(UpstreamUnavailable):
        await broker.start()
    assert time.monotonic() - started < 5
    with pytest.raises(UpstreamUnavailable):
        await broker.ping()


async def test_publish_before_start_fails_fast() -> None:
    broker = make_broker("unused.")
    with pytest.raises(UpstreamUnavailable):
        await broker.publish(
            DocumentDeleteRequested(tenant_id=TenantId("t"), document_id="d"),
            routing_key=ROUTING_DELETE,
        )


def test_retry_tiers_must_map_to_distinct_delay_queues() -> None:
    with pytest.raises(ValueError, match="whole seconds"):
        RabbitMqBroker(BrokerSettings(), retry_delays_s=(0.2, 0.5))
    with pytest.raises(ValueError, match="positive"):
        RabbitMqBroker(BrokerSettings(), retry_delays_s=())


@pytest.mark.integration
async def test_declared_topology_has_the_documented_arguments(rabbit_namespace: str) -> None:
    """Re-declaring with the documented arguments succeeds only if they are exactly these."""
    ns = rabbit_namespace
    broker = make_broker(ns)
    await broker.start()
    await make_broker(ns).start()  # a second process declares the same topology: idempotent
    main_queue: dict[str, Any] = {
        "x-queue-type": "quorum",
        "x-delivery-limit": LIMIT,
        "x-dead-letter-exchange": f"{ns}ragline.dead-letter",
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
    }
    connection = await aio_pika.connect(RABBITMQ_URL, timeout=5)
    try:
        async with connection:
            channel = await connection.channel()
            for queue in (QueueName.INGESTION, QueueName.JOB_EVENTS, QueueName.INTAKE):
                await channel.declare_queue(
                    f"{ns}{queue.value}", durable=True, arguments=main_queue
                )
                for delay_s in DELAYS_S:
                    await channel.declare_queue(
                        f"{ns}{retry_queue_name(queue, delay_s)}",
                        durable=True,
                        arguments={
                            "x-queue-type": "quorum",
                            "x-message-ttl": round(delay_s * 1000),
                            "x-dead-letter-exchange": "",
                            "x-dead-letter-routing-key": f"{ns}{queue.value}",
                            "x-dead-letter-strategy": "at-least-once",
                            "x-overflow": "reject-publish",
                        },
                    )
            await channel.declare_queue(
                f"{ns}ragline.dead-letters", durable=True, arguments={"x-queue-type": "quorum"}
            )
            for exchange in ("commands", "events", "intake", "dead-letter"):
                await channel.declare_exchange(
                    f"{ns}ragline.{exchange}", aio_pika.ExchangeType.TOPIC, durable=True
                )
            with pytest.raises(ChannelPreconditionFailed):
                await channel.declare_queue(
                    f"{ns}{QueueName.INGESTION.value}",
                    durable=True,
                    arguments={**main_queue, "x-delivery-limit": DELIVERY_LIMIT + 1},
                )
    finally:
        await broker.close()


_KILLED_CONSUMER = """
import asyncio, sys
from pydantic import SecretStr
from ragline_common.adapters.broker.rabbitmq import RabbitMqBroker
from ragline_common.settings import BrokerSettings
from ragline_common.topology import QueueName

async def main() -> None:
    broker = RabbitMqBroker(
        BrokerSettings(url=SecretStr({url!r})), namespace={namespace!r},
        retry_delays_s={delays!r}, delivery_limit={limit!r},
    )
    await broker.start()

    async def hang(delivery) -> None:
        print("received", flush=True)
        await asyncio.Event().wait()

    await broker.consume(QueueName.INGESTION, hang, prefetch=1)
    await asyncio.Event().wait()

asyncio.run(main())
"""


@pytest.mark.integration
async def test_message_of_a_killed_consumer_process_goes_to_a_new_consumer(
    rabbit_namespace: str,
) -> None:
    broker = make_broker(rabbit_namespace)
    await broker.start()
    try:
        await broker.publish(
            DocumentDeleteRequested(tenant_id=TenantId("t"), document_id="d"),
            routing_key=ROUTING_DELETE,
        )
        code = _KILLED_CONSUMER.format(
            url=RABBITMQ_URL, namespace=rabbit_namespace, delays=DELAYS_S, limit=LIMIT
        )
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", code, stdout=asyncio.subprocess.PIPE
        )
        try:
            assert process.stdout is not None
            async with asyncio.timeout(30):  # stdout also carries the child's log lines
                while (await process.stdout.readline()).strip() != b"received":
                    pass
        finally:
            process.kill()  # SIGKILL: no close(), no ack, the socket just drops
            await process.wait()

        received: list[Delivery] = []
        arrived = asyncio.Event()

        async def record(delivery: Delivery) -> None:
            received.append(delivery)
            arrived.set()

        await broker.consume(QueueName.INGESTION, record, prefetch=1)
        await asyncio.wait_for(arrived.wait(), timeout=10)

        assert len(received) == 1
        assert received[0].redelivered is True
    finally:
        await broker.close()


@pytest.mark.integration
async def test_a_letter_rabbitmq_parked_itself_is_described_by_its_own_record(
    rabbit_namespace: str,
) -> None:
    """A consumer that dies on the last delivery leaves RabbitMQ to park the message as it is.

    Its headers are then the producer's, forged ``x-death`` included; the listing and the
    dead-letter event believe only RabbitMQ's newest ``x-death`` entry and drop the key.
    """
    forged: dict[str, Any] = {
        "x-ragline-api-key": "rl_keyOfTheProducer0123456789abcdefg",
        "x-ragline-tenant": "tenant-victim",
        "x-ragline-queue": QueueName.INGESTION.value,
        "x-ragline-reason": "forged",
        "x-death": [{"queue": f"{rabbit_namespace}ragline.ingestion", "reason": "rejected"}],
    }
    broker = make_broker(rabbit_namespace)
    await broker.start()
    events: list[Delivery] = []

    async def record(delivery: Delivery) -> None:
        events.append(delivery)

    try:
        await broker.consume(QueueName.DEAD_LETTER_EVENTS, record, prefetch=1)
        connection = await aio_pika.connect(RABBITMQ_URL, timeout=5)
        async with connection:
            channel = await connection.channel()
            intake = f"{rabbit_namespace}{QueueName.INTAKE.value}"
            await channel.default_exchange.publish(
                aio_pika.Message(b"{}", headers=forged, message_id="evt_raw"), intake
            )
            queue = await channel.get_queue(intake, ensure=False)
            for _ in range(LIMIT + 1):  # a consumer failing on every delivery, acking nothing
                message = await _next_message(queue)
                await message.nack(requeue=True)

            async with asyncio.timeout(10):
                while True:
                    letters = await broker.list_dead_letters(None, limit=10)
                    if letters and events:
                        break
                    await asyncio.sleep(0.1)
            # Reading it replaced the parked message by a clean copy, in the queue itself.
            raw = await _raw_headers(connection, f"{rabbit_namespace}ragline.dead-letters")
            assert len(raw) == 1
            assert "rl_keyOfTheProducer" not in str(raw)

        [letter] = letters
        assert letter.queue is QueueName.INTAKE
        assert letter.tenant_id is None
        assert letter.reason == "delivery limit exceeded"
        assert "rl_keyOfTheProducer" not in str(letter.headers)
        assert not {"x-ragline-tenant", "x-ragline-api-key"} & set(letter.headers)
        assert events[0].dead_letter is not None
        assert (events[0].dead_letter.queue, events[0].dead_letter.tenant_id) == (
            QueueName.INTAKE,
            None,
        )
        assert "rl_keyOfTheProducer" not in str(events[0].headers)
    finally:
        await broker.close()


async def _next_message(queue: aio_pika.abc.AbstractQueue) -> aio_pika.abc.AbstractIncomingMessage:
    """The next message of ``queue`` (a requeued one shows up a moment after the nack)."""
    async with asyncio.timeout(5):
        while True:
            message = await queue.get(no_ack=False, fail=False)
            if message is not None:
                return message
            await asyncio.sleep(0.05)


async def _raw_headers(
    connection: aio_pika.abc.AbstractConnection, queue_name: str
) -> list[dict[str, Any]]:
    """The headers stored in ``queue_name``, read on a channel closed afterwards (no acks)."""
    found: list[dict[str, Any]] = []
    async with connection.channel() as channel:
        queue = await channel.get_queue(queue_name, ensure=False)
        while (message := await queue.get(no_ack=False, fail=False)) is not None:
            found.append(dict(message.headers or {}))
    return found
