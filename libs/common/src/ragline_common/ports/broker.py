"""Message broker port: durable publish with confirmation, consume with explicit outcome."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from ragline_common.messages import Envelope
from ragline_common.tenancy import TenantId
from ragline_common.topology import QueueName

DEAD_LETTER_SCAN_LIMIT = 500
"""Parked messages one dead-letter listing reads at most (see ``Broker.list_dead_letters``)."""


@dataclass(frozen=True)
class DeadLetter:
    """A message that could never be processed, with the reason recorded when it was parked.

    ``queue``, ``tenant_id`` and ``reason`` are what Ragline recorded when it parked the message
    (or what RabbitMQ's own dead-lettering record says), never what the message's publisher
    claimed; ``tenant_id`` is None when no one authenticated vouched for a tenant. ``body`` is
    the publisher's and is not believed.
    """

    id: str
    queue: QueueName
    routing_key: str
    tenant_id: TenantId | None
    reason: str
    dead_lettered_at: datetime
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Delivery:
    """One message handed to a consumer.

    ``attempt`` counts transient retries (0 on first delivery); ``redelivered`` is the broker's
    own flag, set when a previous consumer died before acknowledging. ``reply_to`` and
    ``correlation_id`` are the producer's request for an answer (AMQP properties), for handlers
    that offer one (see :meth:`Broker.publish_reply`).

    ``headers`` hold only what Ragline vouches for: on the intake, no ``x-ragline-*`` header an
    outside producer may not set. ``dead_letter`` is set on deliveries from a parking queue: the
    letter as the operator listing shows it, the only account of its origin to believe.
    """

    body: bytes
    routing_key: str
    headers: Mapping[str, str]
    attempt: int = 0
    redelivered: bool = False
    reply_to: str | None = None
    correlation_id: str | None = None
    dead_letter: DeadLetter | None = None


ReplayPreparation = Callable[[DeadLetter], Awaitable[None]]
"""Run on a found dead letter before its copy is sent back; raising leaves it parked."""

Handler = Callable[[Delivery], Awaitable[None]]
"""Consumer callback. Returning acknowledges; raising ``PermanentProcessingError`` (or a
``pydantic.ValidationError``) dead-letters with the reason; ``TransientProcessingError`` or
``UpstreamUnavailable`` (a dependency is down) schedules a delayed retry that does not use up the
redelivery budget; anything else is requeued and counts against the queue's delivery limit."""


class Broker(Protocol):
    async def start(self) -> None:
        """Connect and declare the whole topology (idempotent)."""

    async def close(self) -> None:
        """Stop consumers (finishing in-flight handlers) and disconnect."""

    async def ping(self) -> None:
        """Raise ``UpstreamUnavailable`` when the broker cannot accept work."""

    async def publish(
        self, message: Envelope, *, routing_key: str, headers: Mapping[str, str] | None = None
    ) -> None:
        """Publish persistently; return only once the broker has confirmed the message."""

    async def publish_reply(self, reply_to: str, correlation_id: str, body: bytes) -> None:
        """Answer a producer on the queue it named, and return once the broker confirmed it.

        Raises ``UpstreamUnavailable`` when the reply cannot be delivered (no such queue, broker
        down) and ``ValueError`` for an address inside Ragline's own topology, which a producer
        must not be able to write into.
        """

    async def consume(self, queue: QueueName, handler: Handler, *, prefetch: int) -> None:
        """Start consuming ``queue`` in the background; returns once subscribed."""

    async def queue_depth(self, queue: QueueName) -> int:
        """Messages ready in ``queue`` (for backpressure and metrics)."""

    async def list_dead_letters(self, tenant_id: TenantId | None, limit: int) -> list[DeadLetter]:
        """Parked messages, oldest first; ``None`` lists every tenant's (operator view).

        A queue cannot be searched, only read, so one listing reads a window of at most the
        adapter's scan limit (:data:`DEAD_LETTER_SCAN_LIMIT` by default) messages from the
        front of the queue, whatever their tenant, and puts them back at its end, as RabbitMQ
        does with messages it hands back. With more letters parked than that, successive
        listings page through the queue: each costs the same, and every letter shows in turn.
        """

    async def replay_dead_letter(
        self,
        tenant_id: TenantId,
        dead_letter_id: str,
        *,
        prepare: ReplayPreparation | None = None,
    ) -> DeadLetter:
        """Send ``tenant_id``'s parked message back to its original queue, attempt count reset.

        Ids are unique only within a tenant (a producer chooses its message ids), so a letter is
        found by both, anywhere in the queue; ``NotFound`` if there is none. ``prepare`` runs
        once it is found, before the copy is sent. Returns the letter as it was parked.
        """

    async def purge_dead_letters(self, tenant_id: TenantId | None) -> int:
        """Drop parked messages (of one tenant, or all); returns how many.

        Not bounded by the scan limit: erasing a tenant must remove every one of its letters.
        """
