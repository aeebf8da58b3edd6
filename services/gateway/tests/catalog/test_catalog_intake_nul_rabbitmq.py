"""The queue drop on real RabbitMQ: a message with NUL is dead-lettered once, with a reason.

Before the intake decoder refused NUL, PostgreSQL failed on it inside the catalog and the message
went round again (and again). Here every delivery of the consumer is counted: each refused
message must be handled exactly once and be parked in the dead-letter queue under its tenant.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aio_pika
import pytest
from gw_harness import ingest_key_in_catalog
from pydantic import SecretStr

from ragline_common.adapters.broker.rabbitmq import RabbitMqBroker, delete_topology
from ragline_common.ports.broker import Delivery
from ragline_common.settings import BrokerSettings
from ragline_common.topology import INTAKE_EXCHANGE, QueueName
from ragline_gateway.adapters.catalog import SqlCatalog
from ragline_gateway.consumers.intake import IntakeHandler
from ragline_gateway.domain.dispatch import JobDispatcher
from ragline_gateway.domain.intake_message import HEADER_API_KEY, SCHEMA_V1
from ragline_testing.harness import require_service

pytestmark = pytest.mark.integration

RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672/"
RETRY_DELAYS_S = (0.2, 1.0)
PEPPER = b"pepper-for-the-rabbitmq-nul-test"


@pytest.fixture
async def rabbit() -> AsyncIterator[tuple[RabbitMqBroker, str]]:
    require_service("127.0.0.1", 5672, "RabbitMQ")
    namespace = f"test-{uuid.uuid4().hex[:10]}."
    broker = RabbitMqBroker(
        BrokerSettings(url=SecretStr(RABBITMQ_URL), publish_timeout_s=5.0),
        namespace=namespace,
        retry_delays_s=RETRY_DELAYS_S,
        delivery_limit=3,
        connect_timeout_s=5.0,
        close_timeout_s=1.0,
    )
    await broker.start()
    yield broker, namespace
    await broker.close()
    await delete_topology(RABBITMQ_URL, namespace, retry_delays_s=RETRY_DELAYS_S, timeout_s=5)


async def _publish(namespace: str, key: str, messages: list[dict[str, Any]]) -> None:
    connection = await aio_pika.connect_robust(RABBITMQ_URL, timeout=10)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(f"{namespace}{INTAKE_EXCHANGE}")
        for message in messages:
            await exchange.publish(
                aio_pika.Message(
                    json.dumps(message).encode(),
                    content_type="application/json",
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    headers={HEADER_API_KEY: key},
                ),
                routing_key="document.intake.v1",
            )


async def test_a_message_with_nul_is_dead_lettered_once_with_a_reason(
    catalog: SqlCatalog, rabbit: tuple[RabbitMqBroker, str]
) -> None:
    broker, namespace = rabbit
    tenant, key = await ingest_key_in_catalog(catalog, PEPPER)
    handler = IntakeHandler(
        catalog=catalog,
        broker=broker,
        dispatcher=JobDispatcher(catalog, broker, window=10),
        key_pepper=PEPPER,
        admin_token="operator-token-for-the-rabbitmq-nul-test",
        max_upload_bytes=64 * 1024,
    )
    deliveries = 0

    async def counted(delivery: Delivery) -> None:
        nonlocal deliveries
        deliveries += 1
        await handler(delivery)

    await broker.consume(QueueName.INTAKE, counted, prefetch=4)
    await _publish(
        namespace,
        key,
        [
            {"schema": SCHEMA_V1, "title": "a\x00b", "text": "Some words."},
            {"schema": SCHEMA_V1, "title": "t", "text": "x", "metadata": {"k": ["\x00"]}},
        ],
    )

    async with asyncio.timeout(30):
        while True:
            parked = await broker.list_dead_letters(tenant, limit=10)
            if len(parked) >= 2:
                break
            await asyncio.sleep(0.1)
    # Longer than every retry delay: a message sent round again would have been handled again.
    await asyncio.sleep(sum(RETRY_DELAYS_S) + 0.5)
    assert deliveries == 2
    assert all("NUL" in letter.reason for letter in parked), [p.reason for p in parked]
    assert await catalog.list_documents(tenant, limit=10, offset=0) == []
