"""In-process broker for the monolithic mode and for fast tests.

It mirrors the RabbitMQ topology (topic routing per :data:`~ragline_common.topology.BINDINGS`,
dead-letter queue, delivery limit, delayed transient retries) so that code tested against it
behaves the same on RabbitMQ. It is deliberately not durable: whatever is queued when the process
stops is gone, and the gateway re-publishes unfinished jobs from its catalog at start-up.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import structlog

from ragline_common.adapters.broker.headers import (
    REASON_DELIVERY_LIMIT,
    attempt_of,
    believed_headers,
    dead_letter_headers,
    dead_letter_record,
    oldest_first,
    original_routing_key,
    publish_headers,
    publish_span_fields,
    replay_headers,
)
from ragline_common.adapters.broker.inflight import InFlight
from ragline_common.adapters.broker.memory_queue import MemoryQueue, topic_matches
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
from ragline_common.tenancy import TenantId
from ragline_common.topology import (
    BINDINGS,
    DEAD_LETTER_EXCHANGE,
    DELIVERY_LIMIT,
    PARKING_QUEUES,
    RETRY_DELAYS_S,
    QueueName,
    exchange_for,
)

_log = structlog.get_logger(__name__)


@dataclass
class _Stored:
    body: bytes
    routing_key: str
    message_id: str
    headers: dict[str, str] = field(default_factory=dict)
    redeliveries: int = 0
    """Mirrors RabbitMQ's ``x-delivery-count``: returns to the queue so far."""


class MemoryBroker:
    """The :class:`~ragline_common.ports.broker.Broker` of a single process, on asyncio.

    ``delay_scale`` multiplies the retry delay tiers (tests use a small factor instead of
    waiting for real back-off); ``delivery_limit`` mirrors the quorum queues' ``x-delivery-limit``;
    ``dead_letter_scan_limit`` is the window of a dead-letter listing, as on RabbitMQ.
    """

    def __init__(
        self,
        *,
        delay_scale: float = 1.0,
        delivery_limit: int = DELIVERY_LIMIT,
        close_timeout_s: float = 10.0,
        dead_letter_scan_limit: int = DEAD_LETTER_SCAN_LIMIT,
    ) -> None:
        if delay_scale < 0:
            raise ValueError("delay_scale must not be negative")
        if dead_letter_scan_limit < 1:
            raise ValueError("dead_letter_scan_limit must be at least 1")
        self._retry_delays_s = tuple(delay * delay_scale for delay in RETRY_DELAYS_S)
        self._delivery_limit = delivery_limit
        self._scan_limit = dead_letter_scan_limit
        self._close_timeout_s = close_timeout_s
        self._queues: dict[QueueName, MemoryQueue[_Stored]] = {}
        self._consumers: list[asyncio.Task[None]] = []
        self._timers: set[asyncio.TimerHandle] = set()
        self._inflight = InFlight()
        self._running = False

    async def start(self) -> None:
        if not self._queues:
            self._queues = {queue: MemoryQueue[_Stored]() for queue in BINDINGS}
        self._running = True
        _log.info("broker_started", kind="memory")

    async def close(self) -> None:
        self._running = False
        for consumer in self._consumers:
            consumer.cancel()
        if self._consumers:
            await asyncio.wait(self._consumers)
        self._consumers.clear()
        await self._inflight.drain(self._close_timeout_s)
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        _log.info("broker_closed", kind="memory")

    async def ping(self) -> None:
        self._ensure_running()

    async def publish(
        self, message: Envelope, *, routing_key: str, headers: Mapping[str, str] | None = None
    ) -> None:
        self._ensure_running()
        exchange = exchange_for(routing_key)
        with publish_span(
            **publish_span_fields(message, exchange, routing_key, "memory"),
            caller_headers=headers,
        ):
            stored = _Stored(
                body=encode_message(message),
                routing_key=routing_key,
                message_id=message.event_id,
                headers=publish_headers(message, headers),
            )
            self._route(exchange, stored)

    async def publish_reply(self, reply_to: str, correlation_id: str, body: bytes) -> None:
        """Always unroutable, as RabbitMQ would answer for a queue that does not exist.

        The only queues here are the topology's own, and no producer outside this process can
        read a reply queue of an in-process broker.
        """
        self._ensure_running()
        if not reply_to or reply_to.startswith("ragline."):
            raise ValueError("a reply may not be addressed to Ragline's own queues")
        raise UpstreamUnavailable(f"No queue named {reply_to!r} to reply to in this process.")

    async def consume(self, queue: QueueName, handler: Handler, *, prefetch: int) -> None:
        self._ensure_running()
        if prefetch < 1:
            raise ValueError("prefetch must be at least 1")
        self._consumers.append(asyncio.create_task(self._consume_loop(queue, handler, prefetch)))
        _log.info("broker_consuming", queue=queue.value, prefetch=prefetch)

    async def queue_depth(self, queue: QueueName) -> int:
        self._ensure_running()
        return len(self._queues[queue])

    async def list_dead_letters(self, tenant_id: TenantId | None, limit: int) -> list[DeadLetter]:
        """The ``limit`` oldest parked messages of one window, optionally of one tenant only."""
        self._ensure_running()
        records = (self._record(message) for message in self._dead_letters.window(self._scan_limit))
        return oldest_first(
            [r for r in records if tenant_id is None or r.tenant_id == tenant_id], limit
        )

    async def replay_dead_letter(
        self,
        tenant_id: TenantId,
        dead_letter_id: str,
        *,
        prepare: ReplayPreparation | None = None,
    ) -> DeadLetter:
        """Send a tenant's parked message back to the queue it failed in, retry budget reset."""
        self._ensure_running()
        found = next(
            (
                (message, record)
                for message in self._dead_letters.snapshot()
                if message.message_id == dead_letter_id
                and (record := self._record(message)).tenant_id == tenant_id
            ),
            None,
        )
        if found is None:
            raise NotFound(f"No dead letter with id {dead_letter_id}.")
        message, record = found
        if prepare is not None:
            await prepare(record)
        if not self._dead_letters.take(lambda candidate: candidate is message, limit=1):
            raise NotFound(f"No dead letter with id {dead_letter_id}.")  # purged meanwhile
        self._queues[record.queue].put(
            _Stored(
                body=record.body,
                routing_key=record.routing_key,
                message_id=record.id,
                headers=replay_headers(record.headers),
            )
        )
        _log.info(
            "broker_dead_letter_replayed", queue=record.queue.value, tenant_id=record.tenant_id
        )
        return record

    async def purge_dead_letters(self, tenant_id: TenantId | None) -> int:
        """Drop parked messages (of one tenant, or all); returns how many were dropped."""
        self._ensure_running()
        purged = self._dead_letters.take(
            lambda message: tenant_id is None or self._record(message).tenant_id == tenant_id
        )
        _log.info("broker_dead_letters_purged", count=len(purged), tenant_id=tenant_id)
        return len(purged)

    @property
    def _dead_letters(self) -> MemoryQueue[_Stored]:
        return self._queues[QueueName.DEAD_LETTERS]

    def _ensure_running(self) -> None:
        if not self._running:
            raise UpstreamUnavailable("The in-process broker is not running.")

    def _route(self, exchange: str, message: _Stored) -> None:
        """Deliver a copy to every queue bound to ``exchange`` by a matching pattern."""
        targets = [
            queue
            for queue, (bound_exchange, patterns) in BINDINGS.items()
            if bound_exchange == exchange
            and any(topic_matches(pattern, message.routing_key) for pattern in patterns)
        ]
        if not targets:
            raise UpstreamUnavailable(
                f"No queue is bound for routing key {message.routing_key!r} on {exchange}."
            )
        for queue in targets:
            self._queues[queue].put(replace(message, headers=dict(message.headers)))

    async def _consume_loop(self, queue: QueueName, handler: Handler, prefetch: int) -> None:
        slots = asyncio.Semaphore(prefetch)
        source = self._queues[queue]
        while True:
            await slots.acquire()
            try:
                message = await source.get()
            except asyncio.CancelledError:
                slots.release()
                raise
            task = self._inflight.spawn(self._handle(queue, message, handler))
            task.add_done_callback(lambda _: slots.release())

    async def _handle(self, queue: QueueName, message: _Stored, handler: Handler) -> None:
        headers = believed_headers(message.headers, queue)
        delivery = Delivery(
            body=message.body,
            routing_key=original_routing_key(headers, message.routing_key),
            headers=headers,
            attempt=attempt_of(headers),
            redelivered=message.redeliveries > 0,
            dead_letter=self._record(message) if queue in PARKING_QUEUES else None,
        )
        settlement = _MemorySettlement(self, queue, message)
        try:
            await settle(
                handler, delivery, settlement, queue=queue, retry_delays_s=self._retry_delays_s
            )
        except asyncio.CancelledError:
            # Like a consumer that died before acking: the message goes back, as redelivered.
            if not settlement.settled:
                self._requeue(queue, message)
            raise

    def _requeue(self, queue: QueueName, message: _Stored) -> None:
        """Return a message, or park it once it exceeds the delivery limit (as RabbitMQ does)."""
        message.redeliveries += 1
        if message.redeliveries <= self._delivery_limit:
            self._queues[queue].put(message)
            return
        if queue in PARKING_QUEUES:
            _log.error("broker_parked_copy_dropped", queue=queue.value)
            return
        believed = believed_headers(message.headers, queue)
        routing_key = original_routing_key(believed, message.routing_key)
        headers = dead_letter_headers(
            believed, reason=REASON_DELIVERY_LIMIT, queue=queue, routing_key=routing_key
        )
        self._route(
            DEAD_LETTER_EXCHANGE,
            _Stored(
                body=message.body,
                routing_key=routing_key,
                message_id=message.message_id,
                headers=headers,
            ),
        )
        _log.warning("broker_delivery_limit_exceeded", queue=queue.value, routing_key=routing_key)

    def _schedule(self, queue: QueueName, message: _Stored, delay_s: float) -> None:
        def deliver() -> None:
            self._timers.discard(timer)
            self._queues[queue].put(message)

        timer = asyncio.get_running_loop().call_later(delay_s, deliver)
        self._timers.add(timer)

    def _record(self, message: _Stored) -> DeadLetter:
        return dead_letter_record(
            id=message.message_id,
            routing_key=message.routing_key,
            body=message.body,
            headers=believed_headers(message.headers, QueueName.DEAD_LETTERS),
        )


class _MemorySettlement:
    def __init__(self, broker: MemoryBroker, queue: QueueName, message: _Stored) -> None:
        self._broker = broker
        self._queue = queue
        self._message = message
        self.settled = False

    async def ack(self) -> None:
        """The message already left the queue when it was handed out; only remember that."""
        self.settled = True

    async def requeue(self) -> None:
        self.settled = True
        self._broker._requeue(self._queue, self._message)

    async def dead_letter(self, routing_key: str, headers: Mapping[str, str]) -> None:
        copy = _Stored(
            body=self._message.body,
            routing_key=routing_key,
            message_id=self._message.message_id,
            headers=dict(headers),
        )
        self._broker._route(DEAD_LETTER_EXCHANGE, copy)

    async def retry_later(self, delay_s: float, headers: Mapping[str, str]) -> None:
        copy = _Stored(
            body=self._message.body,
            routing_key=self._message.routing_key,
            message_id=self._message.message_id,
            headers=dict(headers),
        )
        self._broker._schedule(self._queue, copy, delay_s)
