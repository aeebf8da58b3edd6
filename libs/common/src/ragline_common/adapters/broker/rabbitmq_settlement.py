"""The moves :func:`~.settlement.settle` makes on one message received from RabbitMQ.

RabbitMQ parks a message that exceeds its delivery limit as it is, headers included; an intake
message's would include its producer's API key. So on a message's last allowed delivery a
requeue parks a clean copy itself (as the in-process broker does).
"""

from __future__ import annotations

from collections.abc import Mapping

import structlog
from aio_pika.abc import AbstractIncomingMessage

from ragline_common.adapters.broker.headers import (
    REASON_DELIVERY_LIMIT,
    believed_headers,
    dead_letter_headers,
    original_routing_key,
)
from ragline_common.adapters.broker.rabbitmq_link import RabbitLink, persistent_copy
from ragline_common.adapters.broker.rabbitmq_topology import DEFAULT_EXCHANGE
from ragline_common.errors import UpstreamUnavailable
from ragline_common.topology import (
    DEAD_LETTER_EXCHANGE,
    PARKING_QUEUES,
    QueueName,
    retry_queue_name,
)

_log = structlog.get_logger(__name__)


class RabbitSettlement:
    """A :class:`~.settlement.Settlement` of ``message``, received from ``queue``."""

    def __init__(
        self,
        link: RabbitLink,
        queue: QueueName,
        message: AbstractIncomingMessage,
        *,
        delivery_limit: int,
    ) -> None:
        self._link = link
        self._queue = queue
        self._message = message
        self._delivery_limit = delivery_limit

    async def ack(self) -> None:
        await self._message.ack()

    async def requeue(self) -> None:
        """Give the message back, or park it ourselves if RabbitMQ would park it now.

        RabbitMQ parks a message as it is, credentials and claimed headers included; parking a
        clean copy first (as the in-process broker does) keeps the API key of an intake message
        out of the dead-letter queue. If that copy cannot be published, RabbitMQ parks it.
        """
        if not self._on_last_delivery():
            await self._message.nack(requeue=True)
            return
        believed = believed_headers(
            self._message.headers, self._queue, namespace=self._link.namespace
        )
        routing_key = original_routing_key(believed, self._message.routing_key or "")
        headers = dead_letter_headers(
            believed, reason=REASON_DELIVERY_LIMIT, queue=self._queue, routing_key=routing_key
        )
        try:
            await self.dead_letter(routing_key, headers)
        except UpstreamUnavailable:
            await self._message.nack(requeue=True)
            return
        await self._message.ack()
        _log.warning(
            "broker_delivery_limit_exceeded", queue=self._queue.value, routing_key=routing_key
        )

    async def dead_letter(self, routing_key: str, headers: Mapping[str, str]) -> None:
        await self._link.publish(
            DEAD_LETTER_EXCHANGE, routing_key, persistent_copy(self._message, headers)
        )

    async def retry_later(self, delay_s: float, headers: Mapping[str, str]) -> None:
        await self._link.publish(
            DEFAULT_EXCHANGE,
            self._link.name(retry_queue_name(self._queue, delay_s)),
            persistent_copy(self._message, headers),
        )

    def _on_last_delivery(self) -> bool:
        """Whether returning the message would make RabbitMQ park it (``x-delivery-count``).

        RabbitMQ sets the count itself (a publisher's value is overwritten), so it can be
        believed; the parking queues have no dead-letter exchange and are left to RabbitMQ.
        """
        count = (self._message.headers or {}).get("x-delivery-count")
        return (
            self._queue not in PARKING_QUEUES
            and isinstance(count, int)
            and count >= self._delivery_limit
        )
