"""RabbitMQ broker on aio-pika: quorum queues, publisher confirms, manual acks, delayed retries.

Topology (declared idempotently by :meth:`RabbitMqBroker.start`, names from
:mod:`ragline_common.topology`, each prefixed by ``namespace``; see :mod:`.rabbitmq_topology`):

- topic exchanges for commands, events, intake and dead letters;
- one durable quorum queue per binding, with ``x-delivery-limit`` and at-least-once
  dead-lettering to the dead-letter exchange (RabbitMQ >= 3.10; at-least-once requires
  ``x-overflow=reject-publish``), so a message is never dropped between queue and DLQ;
- per consumed queue and retry tier, a quorum delay queue with ``x-message-ttl`` that
  dead-letters back to its origin queue through the default exchange (quorum queues support TTL
  since 3.10, and every message in one tier expires after the same delay, so head-of-line expiry
  is exact);
- the dead-letter queue itself: quorum, *no* delivery limit, because reading it for the
  operator API returns messages to it (see :mod:`.rabbitmq_dead_letters`).

RabbitMQ parks a message that exceeds its delivery limit as it is, headers included; an intake
message's would include its producer's API key. So on a message's last allowed delivery the
adapter parks a clean copy itself (:mod:`.rabbitmq_settlement`, as the in-process broker does),
and what RabbitMQ still parks (a consumer dying on that delivery) is described from RabbitMQ's
own ``x-death`` record and cleaned on the first listing (see :mod:`.headers` for what is
believed).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

import aio_pika
import structlog
from aio_pika.abc import AbstractIncomingMessage, AbstractQueue

from ragline_common.adapters.broker.headers import (
    attempt_of,
    believed_headers,
    original_routing_key,
    publish_headers,
    publish_span_fields,
)
from ragline_common.adapters.broker.inflight import InFlight
from ragline_common.adapters.broker.rabbitmq_dead_letters import RabbitDeadLetters
from ragline_common.adapters.broker.rabbitmq_link import BROKER_ERRORS, JSON, RabbitLink
from ragline_common.adapters.broker.rabbitmq_settlement import RabbitSettlement
from ragline_common.adapters.broker.rabbitmq_topology import (
    DEFAULT_EXCHANGE,
    delete_topology,
    namespace_prefix,
    queue_arguments,
)
from ragline_common.adapters.broker.settlement import settle
from ragline_common.errors import UpstreamUnavailable
from ragline_common.messages import Envelope, encode_message
from ragline_common.observability.messaging import publish_span
from ragline_common.ports.broker import (
    DEAD_LETTER_SCAN_LIMIT,
    DeadLetter,
    Delivery,
    Handler,
    ReplayPreparation,
)
from ragline_common.settings import BrokerSettings
from ragline_common.tenancy import TenantId
from ragline_common.topology import (
    DELIVERY_LIMIT,
    PARKING_QUEUES,
    RETRY_DELAYS_S,
    QueueName,
    exchange_for,
    retry_queue_name,
)

__all__ = ["RabbitMqBroker", "delete_topology"]
"""``delete_topology`` is imported from here by the tools that throw namespaces away."""

_log = structlog.get_logger(__name__)

_OWN_NAMES = "ragline."
"""Every exchange and queue of the topology starts so (after the namespace)."""


class RabbitMqBroker:
    """The :class:`~ragline_common.ports.broker.Broker` of the microservices deployment.

    ``namespace`` prefixes every exchange and queue name, so parallel test runs (and anything
    else sharing a vhost) never collide with the real deployment. ``retry_delays_s`` and
    ``delivery_limit`` default to the topology's values; tests shrink them.
    ``dead_letter_scan_limit`` bounds how many parked messages one listing reads.
    """

    def __init__(
        self,
        settings: BrokerSettings,
        *,
        namespace: str = "",
        retry_delays_s: Sequence[float] = RETRY_DELAYS_S,
        delivery_limit: int = DELIVERY_LIMIT,
        connect_timeout_s: float = 10.0,
        close_timeout_s: float = 10.0,
        dead_letter_scan_limit: int = DEAD_LETTER_SCAN_LIMIT,
    ) -> None:
        if dead_letter_scan_limit < 1:
            raise ValueError("dead_letter_scan_limit must be at least 1")
        if not retry_delays_s or min(retry_delays_s) <= 0:
            raise ValueError("retry_delays_s needs at least one positive delay")
        if len({retry_queue_name(QueueName.INGESTION, d) for d in retry_delays_s}) != len(
            retry_delays_s
        ):
            raise ValueError("retry delays must differ in whole seconds (delay queue names do)")
        self._link = RabbitLink(
            settings.url.get_secret_value(),
            namespace=namespace_prefix(namespace),
            publish_timeout_s=settings.publish_timeout_s,
            connect_timeout_s=connect_timeout_s,
            close_timeout_s=close_timeout_s,
        )
        self._retry_delays_s = tuple(retry_delays_s)
        self._delivery_limit = delivery_limit
        self._close_timeout_s = close_timeout_s
        self._dead_letters = RabbitDeadLetters(self._link, scan_limit=dead_letter_scan_limit)
        self._consumers: list[tuple[AbstractQueue, str]] = []
        self._inflight = InFlight()
        self._closing = False

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        if self._link.connected:
            return
        self._closing = False
        await self._link.connect(
            retry_delays_s=self._retry_delays_s, delivery_limit=self._delivery_limit
        )
        _log.info("broker_started", kind="rabbitmq", namespace=self._link.namespace)

    async def close(self) -> None:
        """Cancel consumers, let in-flight handlers finish (bounded), then disconnect.

        Handlers cut off by the grace period never ack, so RabbitMQ redelivers their messages.
        """
        self._closing = True
        for queue, tag in self._consumers:
            try:
                await queue.cancel(tag, timeout=self._link.publish_timeout_s)
            except BROKER_ERRORS as exc:
                _log.warning(
                    "broker_cancel_failed", queue=queue.name, error_type=type(exc).__name__
                )
        self._consumers.clear()
        await self._inflight.drain(self._close_timeout_s)
        await self._link.disconnect()
        _log.info("broker_closed", kind="rabbitmq")

    async def ping(self) -> None:
        await self.queue_depth(QueueName.DEAD_LETTERS)

    # -- publish / consume -----------------------------------------------------------------

    async def publish(
        self, message: Envelope, *, routing_key: str, headers: Mapping[str, str] | None = None
    ) -> None:
        exchange = exchange_for(routing_key)
        with publish_span(
            **publish_span_fields(message, exchange, routing_key, "rabbitmq"),
            caller_headers=headers,
        ):
            outgoing = aio_pika.Message(
                body=encode_message(message),
                content_type=JSON,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                message_id=message.event_id,
                headers=dict(publish_headers(message, headers)),
            )
            await self._link.publish(exchange, routing_key, outgoing)

    async def publish_reply(self, reply_to: str, correlation_id: str, body: bytes) -> None:
        """Publish to the producer's queue through the default exchange, mandatory and confirmed.

        Mandatory turns "that queue is gone" into an error instead of a silent drop, so the
        caller can log that the producer missed its answer.
        """
        if not reply_to or reply_to.startswith(self._name(_OWN_NAMES)):
            raise ValueError("a reply may not be addressed to Ragline's own queues")
        reply = aio_pika.Message(
            body=body,
            content_type=JSON,
            correlation_id=correlation_id,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        await self._link.publish(DEFAULT_EXCHANGE, reply_to, reply)

    async def consume(self, queue: QueueName, handler: Handler, *, prefetch: int) -> None:
        """Subscribe on a channel of its own, so ``prefetch`` bounds this consumer alone."""
        if prefetch < 1:
            raise ValueError("prefetch must be at least 1")
        connection = self._link.require_connection()
        try:
            channel = connection.channel(publisher_confirms=False)
            await channel.initialize(timeout=self._link.publish_timeout_s)
            await channel.set_qos(prefetch_count=prefetch)
            source = await channel.declare_queue(
                self._name(queue),
                durable=True,
                arguments=queue_arguments(
                    queue, namespace=self._link.namespace, delivery_limit=self._delivery_limit
                ),
            )

            async def on_message(message: AbstractIncomingMessage) -> None:
                if self._closing:
                    return  # left unacked: RabbitMQ requeues it when the channel closes
                self._inflight.spawn(self._handle(queue, handler, message))

            tag = await source.consume(on_message, no_ack=False)
        except BROKER_ERRORS as exc:
            raise UpstreamUnavailable(f"Could not consume {queue.value} from RabbitMQ.") from exc
        self._consumers.append((source, tag))
        _log.info("broker_consuming", queue=queue.value, prefetch=prefetch)

    async def queue_depth(self, queue: QueueName) -> int:
        """Ready messages, by a passive declare (a cheap round trip, also used by ``ping``).

        A quorum queue counts messages returned by a nack a moment after the nack: good enough
        for metrics and backpressure, which is what this is for.
        """
        admin = self._link.require_admin()
        try:
            async with asyncio.timeout(self._link.publish_timeout_s):
                channel = await admin.get_underlay_channel()
                declared = await channel.queue_declare(self._name(queue), passive=True)
        except BROKER_ERRORS as exc:
            raise UpstreamUnavailable("RabbitMQ did not answer a queue inquiry.") from exc
        return int(declared.message_count or 0)

    # -- dead letters (:mod:`.rabbitmq_dead_letters` tells how the queue is read) ------------

    async def list_dead_letters(self, tenant_id: TenantId | None, limit: int) -> list[DeadLetter]:
        return await self._dead_letters.list_letters(tenant_id, limit)

    async def replay_dead_letter(
        self,
        tenant_id: TenantId,
        dead_letter_id: str,
        *,
        prepare: ReplayPreparation | None = None,
    ) -> DeadLetter:
        return await self._dead_letters.replay_letter(tenant_id, dead_letter_id, prepare=prepare)

    async def purge_dead_letters(self, tenant_id: TenantId | None) -> int:
        return await self._dead_letters.purge_letters(tenant_id)

    # -- internals -------------------------------------------------------------------------

    def _name(self, name: str) -> str:
        return self._link.name(name)

    async def _handle(
        self, queue: QueueName, handler: Handler, message: AbstractIncomingMessage
    ) -> None:
        headers = believed_headers(message.headers, queue, namespace=self._link.namespace)
        delivery = Delivery(
            body=message.body,
            routing_key=original_routing_key(headers, message.routing_key or ""),
            headers=headers,
            attempt=attempt_of(headers),
            redelivered=bool(message.redelivered),
            reply_to=message.reply_to,
            correlation_id=message.correlation_id,
            dead_letter=self._dead_letters.record(message) if queue in PARKING_QUEUES else None,
        )
        await settle(
            handler,
            delivery,
            RabbitSettlement(self._link, queue, message, delivery_limit=self._delivery_limit),
            queue=queue,
            retry_delays_s=self._retry_delays_s,
        )
