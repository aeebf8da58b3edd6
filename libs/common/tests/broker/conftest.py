"""Broker fixtures: one behavioural suite runs on the in-process broker and on real RabbitMQ.

RabbitMQ tests isolate themselves by a random name prefix (``namespace``) and delete every
exchange and queue they declared, so they run in parallel with each other and next to a real
deployment on the same vhost.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from broker_harness import RABBITMQ_HOST, RABBITMQ_PORT, RABBITMQ_URL, AnyBroker
from pydantic import SecretStr

from ragline_common.adapters.broker.memory import MemoryBroker
from ragline_common.adapters.broker.rabbitmq import RabbitMqBroker, delete_topology
from ragline_common.ports.broker import Broker
from ragline_common.settings import BrokerSettings
from ragline_common.topology import RETRY_DELAYS_S
from ragline_testing.harness import require_service

# Small, so that exhausting the budget or the retry tiers takes a second, not minutes.
TEST_DELIVERY_LIMIT = 2
TEST_RETRY_DELAYS_S = (0.2, 1.0)  # whole seconds differ: the delay queue names use them
TEST_MEMORY_DELAY_SCALE = 0.01  # topology tiers (1, 5, 30, 120 s) -> 10 ms .. 1.2 s
TEST_DEAD_LETTER_SCAN_LIMIT = 5  # above what the other tests park, so only the cap test hits it

# mypy proves here that both adapters implement the port (Protocols are structural).
PORT_IMPLEMENTATIONS: tuple[type[Broker], ...] = (MemoryBroker, RabbitMqBroker)


async def delete_namespace(namespace: str, delays_s: tuple[float, ...]) -> None:
    await delete_topology(RABBITMQ_URL, namespace, retry_delays_s=delays_s, timeout_s=5)


def new_namespace() -> str:
    return f"test-{uuid.uuid4().hex[:10]}."


def rabbit_broker(namespace: str) -> RabbitMqBroker:
    return RabbitMqBroker(
        BrokerSettings(url=SecretStr(RABBITMQ_URL), publish_timeout_s=5.0),
        namespace=namespace,
        retry_delays_s=TEST_RETRY_DELAYS_S,
        delivery_limit=TEST_DELIVERY_LIMIT,
        connect_timeout_s=5.0,
        close_timeout_s=1.0,
        dead_letter_scan_limit=TEST_DEAD_LETTER_SCAN_LIMIT,
    )


@pytest.fixture
async def rabbit_namespace() -> AsyncIterator[str]:
    require_service(RABBITMQ_HOST, RABBITMQ_PORT, "RabbitMQ")
    namespace = new_namespace()
    yield namespace
    await delete_namespace(namespace, TEST_RETRY_DELAYS_S)


@pytest.fixture(params=["memory", pytest.param("rabbitmq", marks=pytest.mark.integration)])
async def broker(request: pytest.FixtureRequest) -> AsyncIterator[AnyBroker]:
    """A started broker of each kind, closed afterwards (RabbitMQ names deleted too)."""
    if request.param == "memory":
        memory = MemoryBroker(
            delay_scale=TEST_MEMORY_DELAY_SCALE,
            delivery_limit=TEST_DELIVERY_LIMIT,
            close_timeout_s=1.0,
            dead_letter_scan_limit=TEST_DEAD_LETTER_SCAN_LIMIT,
        )
        await memory.start()
        yield memory
        await memory.close()
        return
    require_service(RABBITMQ_HOST, RABBITMQ_PORT, "RabbitMQ")
    namespace = new_namespace()
    rabbit = rabbit_broker(namespace)
    try:
        await rabbit.start()
        yield rabbit
        await rabbit.close()
    finally:
        await delete_namespace(namespace, TEST_RETRY_DELAYS_S)


@pytest.fixture
def delivery_limit() -> int:
    return TEST_DELIVERY_LIMIT


@pytest.fixture
def dead_letter_scan_limit() -> int:
    return TEST_DEAD_LETTER_SCAN_LIMIT


@pytest.fixture
def retry_delays_s(broker: AnyBroker) -> tuple[float, ...]:
    """The retry tiers the ``broker`` under test was built with."""
    if isinstance(broker, MemoryBroker):
        return tuple(delay * TEST_MEMORY_DELAY_SCALE for delay in RETRY_DELAYS_S)
    return TEST_RETRY_DELAYS_S
