"""RabbitMQ broker on aio-pika: quorum queues, publisher confirms, manual acks, delayed retries.

Topology (declared idempotently by :meth:`RabbitMqBroker.start`, names from
:mod:`ragline_common.topology`, each prefixed by ``namespace``):

- topic exchanges for commands, events, intake and dead letters;
- one durable quorum queue per binding, with ``x-delivery-limit`` and at-least-once
  dead-lettering to the dead-letter exchange (RabbitMQ >= 3.10; at-least-once requires
  ``x-overflow=reject-publish``), so a message is never dropped between queue and DLQ;
- per consumed queue and retry tier, a quorum delay queue with ``x-message-ttl`` that
  dead-letters back to its origin queue through the default exchange (quorum queues support TTL
  since 3.10, and every message in one tier expires after the same delay, so head-of-line expiry
  is exact);
- the dead-letter queue itself: quorum, *no* delivery limit, because reading it for the
  operator API returns messages to it (see :meth:`RabbitMqBroker.list_dead_letters`).

RabbitMQ parks a message that exceeds its delivery limit as it is, headers included; an intake
message's would include its producer's API key. So on a message's last allowed delivery the
adapter parks a clean copy itself (as the in-process broker does), and what RabbitMQ still
parks (a consumer dying on that delivery) is described from RabbitMQ's own ``x-death`` record
and cleaned on the first listing (see :mod:`.headers` for what is believed).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import aio_pika
import structlog
from aio_pika.abc import (
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustChannel,
    AbstractRobustConnection,
)
from aio_pika.exceptions import AMQPError, ChannelInvalidStateError, DeliveryError

from ragline_common.adapters.broker.headers import (
    REASON_DELIVERY_LIMIT,
    attempt_of,
    believed_headers,
    dead_letter_headers,
    dead_letter_record,
    holds_credentials,
    oldest_first,
    original_routing_key,
    publish_headers,
    publish_span_fields,
    replay_headers,
)
from ragline_common.adapters.broker.inflight import InFlight
from ragline_common.adapters.broker.settlement import settle
from ragline_common.errors import NotFound, UpstreamUnavailable
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
    BINDINGS,
    DEAD_LETTER_EXCHANGE,
    DELIVERY_LIMIT,
    PARKING_QUEUES,
    RETRY_DELAYS_S,
    QueueName,
    exchange_for,
    retry_queue_name,
)

_log = structlog.get_logger(__name__)

_BROKER_ERRORS = (AMQPError, ChannelInvalidStateError, ConnectionError, OSError, TimeoutError)
_JSON = "application/json"
_DEFAULT_EXCHANGE = ""
_MAX_FULL_SCAN = 100_000
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
        self._url = settings.url.get_secret_value()
        self._publish_timeout_s = settings.publish_timeout_s
        self._namespace = namespace_prefix(namespace)
        self._retry_delays_s = tuple(retry_delays_s)
        self._delivery_limit = delivery_limit
        self._connect_timeout_s = connect_timeout_s
        self._close_timeout_s = close_timeout_s
        self._scan_limit = dead_letter_scan_limit
        self._connection: AbstractRobustConnection | None = None
        self._publisher: AbstractRobustChannel | None = None
        self._admin: AbstractRobustChannel | None = None
        self._exchanges: dict[str, AbstractExchange] = {}
        self._consumers: list[tuple[AbstractQueue, str]] = []
        self._inflight = InFlight()
        self._dead_letter_lock = asyncio.Lock()
        self._closing = False

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        if self._connection is not None and not self._connection.is_closed:
            return
        self._closing = False
        try:
            async with asyncio.timeout(self._connect_timeout_s):
                self._connection = await aio_pika.connect_robust(
                    self._url,
                    timeout=self._connect_timeout_s,
                    client_properties={"connection_name": f"ragline:{self._namespace}"},
                )
                self._publisher = self._connection.channel(
                    publisher_confirms=True, on_return_raises=True
                )
                await self._publisher.initialize(timeout=self._connect_timeout_s)
                self._admin = self._connection.channel(publisher_confirms=False)
                await self._admin.initialize(timeout=self._connect_timeout_s)
                await self._declare_topology(self._publisher)
        except _BROKER_ERRORS as exc:
            await self._disconnect()
            raise UpstreamUnavailable("RabbitMQ is unreachable or refused the topology.") from exc
        _log.info("broker_started", kind="rabbitmq", namespace=self._namespace)

    async def close(self) -> None:
        """Cancel consumers, let in-flight handlers finish (bounded), then disconnect.

        Handlers cut off by the grace period never ack, so RabbitMQ redelivers their messages.
        """
        self._closing = True
        for queue, tag in self._consumers:
            try:
                await queue.cancel(tag, timeout=self._publish_timeout_s)
            except _BROKER_ERRORS as exc:
                _log.warning(
                    "broker_cancel_failed", queue=queue.name, error_type=type(exc).__name__
                )
        self._consumers.clear()
        await self._inflight.drain(self._close_timeout_s)
        await self._disconnect()
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
                content_type=_JSON,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                message_id=message.event_id,
                headers=dict(publish_headers(message, headers)),
            )
            await self._publish(exchange, routing_key, outgoing)

    async def publish_reply(self, reply_to: str, correlation_id: str, body: bytes) -> None:
        """Publish to the producer's queue through the default exchange, mandatory and confirmed.

        Mandatory turns "that queue is gone" into an error instead of a silent drop, so the
        caller can log that the producer missed its answer.
        """
        if not reply_to or reply_to.startswith(self._name(_OWN_NAMES)):
            raise ValueError("a reply may not be addressed to Ragline's own queues")
        reply = aio_pika.Message(
            body=body,
            content_type=_JSON,
            correlation_id=correlation_id,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        await self._publish(_DEFAULT_EXCHANGE, reply_to, reply)

    async def consume(self, queue: QueueName, handler: Handler, *, prefetch: int) -> None:
        """Subscribe on a channel of its own, so ``prefetch`` bounds this consumer alone."""
        if prefetch < 1:
            raise ValueError("prefetch must be at least 1")
        connection = self._require_connection()
        try:
            channel = connection.channel(publisher_confirms=False)
            await channel.initialize(timeout=self._publish_timeout_s)
            await channel.set_qos(prefetch_count=prefetch)
            source = await channel.declare_queue(
                self._name(queue), durable=True, arguments=self._queue_arguments(queue)
            )

            async def on_message(message: AbstractIncomingMessage) -> None:
                if self._closing:
                    return  # left unacked: RabbitMQ requeues it when the channel closes
                self._inflight.spawn(self._handle(queue, handler, message))

            tag = await source.consume(on_message, no_ack=False)
        except _BROKER_ERRORS as exc:
            raise UpstreamUnavailable(f"Could not consume {queue.value} from RabbitMQ.") from exc
        self._consumers.append((source, tag))
        _log.info("broker_consuming", queue=queue.value, prefetch=prefetch)

    async def queue_depth(self, queue: QueueName) -> int:
        """Ready messages, by a passive declare (a cheap round trip, also used by ``ping``).

        A quorum queue counts messages returned by a nack a moment after the nack: good enough
        for metrics and backpressure, which is what this is for.
        """
        if self._admin is None or self._admin.is_closed:
            raise UpstreamUnavailable("The RabbitMQ broker is not connected.")
        try:
            async with asyncio.timeout(self._publish_timeout_s):
                channel = await self._admin.get_underlay_channel()
                declared = await channel.queue_declare(self._name(queue), passive=True)
        except _BROKER_ERRORS as exc:
            raise UpstreamUnavailable("RabbitMQ did not answer a queue inquiry.") from exc
        return int(declared.message_count or 0)

    # -- dead letters ----------------------------------------------------------------------
    #
    # The dead letters stay in their queue; operator reads take them with basic.get *without*
    # ack, hold them while scanning (so basic.get moves on to the next one), and finally nack
    # them back with requeue. A crash mid-scan closes the channel, which returns the messages
    # too: a read can never lose one. A read may reorder the queue, which is why listings sort.
    # Every scan, purge and depth inquiry uses the same long-lived channel: a quorum queue
    # applies one channel's commands in order, so the next scan sees the messages the previous
    # one returned (returns from a closed channel land asynchronously and a fresh channel could
    # miss them). Scans are serialised within the process; a scan from another process only sees
    # fewer messages while it runs. The dead-letter queue has no delivery limit, because every
    # read counts as a delivery. RabbitMQ (4.x) puts returned messages at the back of a quorum
    # queue, so a read that stops early rotates the queue: a listing reads a window of at most
    # ``dead_letter_scan_limit`` messages (the lock is held, and the broker worked, for a
    # bounded time) and the next listing reads the next window. Replay and purge, rarer and
    # needing every letter in reach, read the whole queue.

    async def list_dead_letters(self, tenant_id: TenantId | None, limit: int) -> list[DeadLetter]:
        """The ``limit`` oldest parked messages of one window, optionally of one tenant only.

        RabbitMQ does not promise the order of returned messages, so "oldest" comes from sorting
        by the time each message was parked.
        """
        found: list[DeadLetter] = []
        unclean: list[tuple[AbstractIncomingMessage, DeadLetter]] = []
        async with self._dead_letter_scan(self._scan_limit) as scan:
            async for message in scan:
                record = self._record(message)
                if holds_credentials(message.headers):
                    unclean.append((message, record))
                if tenant_id is None or record.tenant_id == tenant_id:
                    found.append(record)
            # After the scan, so that the clean copies (at the back) are not read twice.
            for message, record in unclean:
                await self._replace_by_clean_copy(message, record)
        return oldest_first(found, limit)

    async def replay_dead_letter(
        self,
        tenant_id: TenantId,
        dead_letter_id: str,
        *,
        prepare: ReplayPreparation | None = None,
    ) -> DeadLetter:
        """Send a tenant's parked message back to the queue it failed in, retry budget reset.

        The copy goes straight to that queue (default exchange), not through the original
        exchange, which could fan it out again to other consumers that handled it already.
        The letter is held while ``prepare`` runs, so no other reader can replay it meanwhile.
        """
        async with self._dead_letter_scan(_MAX_FULL_SCAN) as scan:
            async for message in scan:
                record = self._record(message)
                if record.id != dead_letter_id or record.tenant_id != tenant_id:
                    continue
                if prepare is not None:
                    await prepare(record)
                await self._publish(
                    _DEFAULT_EXCHANGE,
                    self._name(record.queue),
                    self._copy(message, replay_headers(record.headers)),
                )
                await message.ack()
                _log.info(
                    "broker_dead_letter_replayed",
                    queue=record.queue.value,
                    tenant_id=record.tenant_id,
                )
                return record
        raise NotFound(f"No dead letter with id {dead_letter_id}.")

    async def purge_dead_letters(self, tenant_id: TenantId | None) -> int:
        """Drop parked messages (of one tenant, or all); returns how many were dropped."""
        purged = 0
        if tenant_id is None:
            admin = self._require_admin()
            try:
                async with asyncio.timeout(self._publish_timeout_s):
                    channel = await admin.get_underlay_channel()
                    result = await channel.queue_purge(self._name(QueueName.DEAD_LETTERS))
            except _BROKER_ERRORS as exc:
                raise UpstreamUnavailable("RabbitMQ did not purge the dead letters.") from exc
            purged = int(result.message_count or 0)
        else:
            async with self._dead_letter_scan(_MAX_FULL_SCAN) as scan:
                async for message in scan:
                    if self._record(message).tenant_id == tenant_id:
                        await message.ack()
                        purged += 1
        _log.info("broker_dead_letters_purged", count=purged, tenant_id=tenant_id)
        return purged

    # -- internals -------------------------------------------------------------------------

    def _name(self, name: str) -> str:
        return f"{self._namespace}{name}"

    def _queue_arguments(self, queue: QueueName) -> dict[str, Any]:
        if queue is QueueName.DEAD_LETTERS:
            return {"x-queue-type": "quorum"}
        if queue in PARKING_QUEUES:
            # No dead-letter exchange: a copy that cannot be handled is dropped, never looped.
            return {"x-queue-type": "quorum", "x-delivery-limit": self._delivery_limit}
        return {
            "x-queue-type": "quorum",
            "x-delivery-limit": self._delivery_limit,
            "x-dead-letter-exchange": self._name(DEAD_LETTER_EXCHANGE),
            "x-dead-letter-strategy": "at-least-once",
            "x-overflow": "reject-publish",
        }

    def _delay_arguments(self, queue: QueueName, delay_s: float) -> dict[str, Any]:
        return {
            "x-queue-type": "quorum",
            "x-message-ttl": max(1, round(delay_s * 1000)),
            "x-dead-letter-exchange": _DEFAULT_EXCHANGE,
            "x-dead-letter-routing-key": self._name(queue),
            "x-dead-letter-strategy": "at-least-once",
            "x-overflow": "reject-publish",
        }

    async def _declare_topology(self, channel: AbstractRobustChannel) -> None:
        for exchange in dict.fromkeys(exchange for exchange, _ in BINDINGS.values()):
            self._exchanges[exchange] = await channel.declare_exchange(
                self._name(exchange), aio_pika.ExchangeType.TOPIC, durable=True
            )
        self._exchanges[_DEFAULT_EXCHANGE] = channel.default_exchange
        for queue, (exchange, routing_keys) in BINDINGS.items():
            declared = await channel.declare_queue(
                self._name(queue), durable=True, arguments=self._queue_arguments(queue)
            )
            for routing_key in routing_keys:
                await declared.bind(self._exchanges[exchange], routing_key)
            if queue is QueueName.DEAD_LETTERS:
                continue
            for delay_s in self._retry_delays_s:
                await channel.declare_queue(
                    self._name(retry_queue_name(queue, delay_s)),
                    durable=True,
                    arguments=self._delay_arguments(queue, delay_s),
                )

    async def _disconnect(self) -> None:
        connection, self._connection = self._connection, None
        self._publisher = self._admin = None
        self._exchanges.clear()
        if connection is None:
            return
        try:
            async with asyncio.timeout(self._close_timeout_s):
                await connection.close()
        except _BROKER_ERRORS as exc:
            _log.warning("broker_disconnect_failed", error_type=type(exc).__name__)

    def _require_connection(self) -> AbstractRobustConnection:
        if self._connection is None or self._connection.is_closed:
            raise UpstreamUnavailable("The RabbitMQ broker is not connected.")
        return self._connection

    def _require_admin(self) -> AbstractRobustChannel:
        if self._admin is None or self._admin.is_closed:
            raise UpstreamUnavailable("The RabbitMQ broker is not connected.")
        return self._admin

    async def _publish(self, exchange: str, routing_key: str, message: aio_pika.Message) -> None:
        """Publish mandatory and confirmed, bounded by the publish timeout, or raise."""
        if self._publisher is None or self._publisher.is_closed or exchange not in self._exchanges:
            raise UpstreamUnavailable("The RabbitMQ broker is not connected.")
        target = self._exchanges[exchange]
        try:
            async with asyncio.timeout(self._publish_timeout_s):
                await target.publish(
                    message, routing_key, mandatory=True, timeout=self._publish_timeout_s
                )
        except DeliveryError as exc:
            raise UpstreamUnavailable(
                f"RabbitMQ did not accept the message for {routing_key!r} (unroutable or nacked)."
            ) from exc
        except _BROKER_ERRORS as exc:
            raise UpstreamUnavailable("RabbitMQ did not confirm the message in time.") from exc

    @staticmethod
    def _copy(message: AbstractIncomingMessage, headers: Mapping[str, str]) -> aio_pika.Message:
        return aio_pika.Message(
            body=message.body,
            content_type=message.content_type or _JSON,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=message.message_id,
            headers=dict(headers),
        )

    async def _handle(
        self, queue: QueueName, handler: Handler, message: AbstractIncomingMessage
    ) -> None:
        headers = believed_headers(message.headers, queue, namespace=self._namespace)
        delivery = Delivery(
            body=message.body,
            routing_key=original_routing_key(headers, message.routing_key or ""),
            headers=headers,
            attempt=attempt_of(headers),
            redelivered=bool(message.redelivered),
            reply_to=message.reply_to,
            correlation_id=message.correlation_id,
            dead_letter=self._record(message) if queue in PARKING_QUEUES else None,
        )
        await settle(
            handler,
            delivery,
            _RabbitSettlement(self, queue, message),
            queue=queue,
            retry_delays_s=self._retry_delays_s,
        )

    @asynccontextmanager
    async def _dead_letter_scan(
        self, limit: int
    ) -> AsyncIterator[AsyncIterator[AbstractIncomingMessage]]:
        """Iterate the first ``limit`` dead letters, holding each unacked until the scan ends.

        Messages the caller did not ack go back to the queue, in the order read, on exit.
        """
        admin = self._require_admin()
        held: list[AbstractIncomingMessage] = []
        async with self._dead_letter_lock:
            source = await admin.get_queue(self._name(QueueName.DEAD_LETTERS), ensure=False)

            async def scan() -> AsyncIterator[AbstractIncomingMessage]:
                # Until the queue runs dry (held messages are not handed out twice) or the
                # cap, which also keeps a flood of new dead letters from making a scan endless.
                for _ in range(limit):
                    try:
                        message = await source.get(
                            no_ack=False, fail=False, timeout=self._publish_timeout_s
                        )
                    except _BROKER_ERRORS as exc:
                        raise UpstreamUnavailable(
                            "RabbitMQ stopped handing out dead letters."
                        ) from exc
                    if message is None:
                        return
                    held.append(message)
                    yield message

            try:
                yield scan()
            finally:
                for message in held:
                    if not message.processed:
                        try:
                            await message.nack(requeue=True)
                        except _BROKER_ERRORS as exc:
                            # The channel is gone, and with it the hold: RabbitMQ requeued them.
                            _log.warning(
                                "broker_dead_letter_return_failed", error_type=type(exc).__name__
                            )
                            break

    def _record(self, message: AbstractIncomingMessage) -> DeadLetter:
        return dead_letter_record(
            id=message.message_id or f"dl_{hashlib.sha256(message.body).hexdigest()[:32]}",
            routing_key=message.routing_key or "",
            body=message.body,
            headers=believed_headers(
                message.headers, QueueName.DEAD_LETTERS, namespace=self._namespace
            ),
        )

    async def _replace_by_clean_copy(
        self, message: AbstractIncomingMessage, record: DeadLetter
    ) -> None:
        """Swap a letter RabbitMQ parked with a credential for a copy without, described alike.

        Ragline parks clean copies itself, but a consumer that dies on a message's last delivery
        leaves RabbitMQ to park the message as it was; the first read cleans it up. The copy is
        confirmed before the original is acked, so a failure leaves the original in place.
        """
        copy = self._copy(message, record.headers)
        try:
            await self._publish(_DEFAULT_EXCHANGE, self._name(QueueName.DEAD_LETTERS), copy)
            await message.ack()
        except (UpstreamUnavailable, *_BROKER_ERRORS) as exc:
            _log.warning("broker_dead_letter_clean_failed", error_type=type(exc).__name__)

    def _on_last_delivery(self, queue: QueueName, message: AbstractIncomingMessage) -> bool:
        """Whether returning ``message`` would make RabbitMQ park it (``x-delivery-count``).

        RabbitMQ sets the count itself (a publisher's value is overwritten), so it can be
        believed; the parking queues have no dead-letter exchange and are left to RabbitMQ.
        """
        count = (message.headers or {}).get("x-delivery-count")
        return (
            queue not in PARKING_QUEUES and isinstance(count, int) and count >= self._delivery_limit
        )


class _RabbitSettlement:
    def __init__(
        self, broker: RabbitMqBroker, queue: QueueName, message: AbstractIncomingMessage
    ) -> None:
        self._broker = broker
        self._queue = queue
        self._message = message

    async def ack(self) -> None:
        await self._message.ack()

    async def requeue(self) -> None:
        """Give the message back, or park it ourselves if RabbitMQ would park it now.

        RabbitMQ parks a message as it is, credentials and claimed headers included; parking a
        clean copy first (as the in-process broker does) keeps the API key of an intake message
        out of the dead-letter queue. If that copy cannot be published, RabbitMQ parks it.
        """
        if not self._broker._on_last_delivery(self._queue, self._message):
            await self._message.nack(requeue=True)
            return
        believed = believed_headers(
            self._message.headers, self._queue, namespace=self._broker._namespace
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
        await self._broker._publish(
            DEAD_LETTER_EXCHANGE, routing_key, self._broker._copy(self._message, headers)
        )

    async def retry_later(self, delay_s: float, headers: Mapping[str, str]) -> None:
        await self._broker._publish(
            _DEFAULT_EXCHANGE,
            self._broker._name(retry_queue_name(self._queue, delay_s)),
            self._broker._copy(self._message, headers),
        )


def namespace_prefix(namespace: str) -> str:
    """``team-a`` -> ``team-a.``, so names read ``team-a.ragline.ingestion``."""
    return f"{namespace}." if namespace and not namespace.endswith(".") else namespace


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
