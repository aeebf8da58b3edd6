"""The RabbitMQ shape of :mod:`ragline_common.topology`: queue arguments, declaring, deleting.

Every name is prefixed by a namespace, so parallel test runs (and anything else sharing a vhost)
never collide with the real deployment. Why each queue has the arguments it has is told in
:mod:`.rabbitmq`'s docstring.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import aio_pika
from aio_pika.abc import AbstractExchange, AbstractRobustChannel

from ragline_common.topology import (
    BINDINGS,
    DEAD_LETTER_EXCHANGE,
    PARKING_QUEUES,
    RETRY_DELAYS_S,
    QueueName,
    retry_queue_name,
)

DEFAULT_EXCHANGE = ""


def namespace_prefix(namespace: str) -> str:
    """``team-a`` -> ``team-a.``, so names read ``team-a.ragline.ingestion``."""
    return f"{namespace}." if namespace and not namespace.endswith(".") else namespace


def queue_arguments(queue: QueueName, *, namespace: str, delivery_limit: int) -> dict[str, Any]:
    if queue is QueueName.DEAD_LETTERS:
        return {"x-queue-type": "quorum"}
    if queue in PARKING_QUEUES:
        # No dead-letter exchange: a copy that cannot be handled is dropped, never looped.
        return {"x-queue-type": "quorum", "x-delivery-limit": delivery_limit}
    return {
        "x-queue-type": "quorum",
        "x-delivery-limit": delivery_limit,
        "x-dead-letter-exchange": f"{namespace}{DEAD_LETTER_EXCHANGE}",
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
    }


def delay_arguments(queue: QueueName, delay_s: float, *, namespace: str) -> dict[str, Any]:
    return {
        "x-queue-type": "quorum",
        "x-message-ttl": max(1, round(delay_s * 1000)),
        "x-dead-letter-exchange": DEFAULT_EXCHANGE,
        "x-dead-letter-routing-key": f"{namespace}{queue.value}",
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
    }


async def declare_topology(
    channel: AbstractRobustChannel,
    *,
    namespace: str,
    retry_delays_s: Sequence[float],
    delivery_limit: int,
) -> dict[str, AbstractExchange]:
    """Declare every exchange, queue, binding and delay queue; returns the exchanges by name."""
    exchanges: dict[str, AbstractExchange] = {}
    for exchange in dict.fromkeys(exchange for exchange, _ in BINDINGS.values()):
        exchanges[exchange] = await channel.declare_exchange(
            f"{namespace}{exchange}", aio_pika.ExchangeType.TOPIC, durable=True
        )
    exchanges[DEFAULT_EXCHANGE] = channel.default_exchange
    for queue, (exchange, routing_keys) in BINDINGS.items():
        declared = await channel.declare_queue(
            f"{namespace}{queue.value}",
            durable=True,
            arguments=queue_arguments(queue, namespace=namespace, delivery_limit=delivery_limit),
        )
        for routing_key in routing_keys:
            await declared.bind(exchanges[exchange], routing_key)
        if queue is QueueName.DEAD_LETTERS:
            continue
        for delay_s in retry_delays_s:
            await channel.declare_queue(
                f"{namespace}{retry_queue_name(queue, delay_s)}",
                durable=True,
                arguments=delay_arguments(queue, delay_s, namespace=namespace),
            )
    return exchanges


async def delete_topology(
    url: str,
    namespace: str,
    *,
    retry_delays_s: Sequence[float] = RETRY_DELAYS_S,
    timeout_s: float = 10.0,
) -> None:
    """Remove every exchange and queue a broker with ``namespace`` declares.

    For throw-away namespaces (tests, benchmarks) and decommissioning; queued messages go too.
    """
    prefix = namespace_prefix(namespace)
    connection = await aio_pika.connect(url, timeout=timeout_s)
    async with connection:
        channel = await connection.channel()
        for queue in QueueName:
            await channel.queue_delete(f"{prefix}{queue.value}")
            for delay_s in retry_delays_s:
                await channel.queue_delete(f"{prefix}{retry_queue_name(queue, delay_s)}")
        for exchange in {exchange for exchange, _ in BINDINGS.values()}:
            await channel.exchange_delete(f"{prefix}{exchange}")
