"""What the modules of the Broker contract suite (``test_broker_contract_*.py``) publish, wait
for and record with. The brokers themselves are the fixtures in this folder's ``conftest.py``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from ragline_common.adapters.broker.memory import MemoryBroker
from ragline_common.adapters.broker.rabbitmq import RabbitMqBroker
from ragline_common.messages import DocumentDeleteRequested
from ragline_common.ports.broker import DeadLetter, Delivery
from ragline_common.tenancy import TenantId
from ragline_common.topology import QueueName

RABBITMQ_HOST = "127.0.0.1"
RABBITMQ_PORT = 5672
RABBITMQ_URL = f"amqp://guest:guest@{RABBITMQ_HOST}:{RABBITMQ_PORT}/"

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
