"""The dead-letter queue on RabbitMQ, as the operator API reads, replays and purges it.

The dead letters stay in their queue; operator reads take them with basic.get *without* ack,
hold them while scanning (so basic.get moves on to the next one), and finally nack them back
with requeue. A crash mid-scan closes the channel, which returns the messages too: a read can
never lose one. A read may reorder the queue, which is why listings sort. Every scan, purge and
depth inquiry uses the same long-lived channel: a quorum queue applies one channel's commands in
order, so the next scan sees the messages the previous one returned (returns from a closed
channel land asynchronously and a fresh channel could miss them). Scans are serialised within
the process; a scan from another process only sees fewer messages while it runs. The
dead-letter queue has no delivery limit, because every read counts as a delivery. RabbitMQ
(4.x) puts returned messages at the back of a quorum queue, so a read that stops early rotates
the queue: a listing reads a window of at most ``scan_limit`` messages (the lock is held, and
the broker worked, for a bounded time) and the next listing reads the next window. Replay and
purge, rarer and needing every letter in reach, read the whole queue.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from aio_pika.abc import AbstractIncomingMessage

from ragline_common.adapters.broker.headers import (
    believed_headers,
    dead_letter_record,
    holds_credentials,
    oldest_first,
    replay_headers,
)
from ragline_common.adapters.broker.rabbitmq_link import (
    BROKER_ERRORS,
    RabbitLink,
    persistent_copy,
)
from ragline_common.adapters.broker.rabbitmq_topology import DEFAULT_EXCHANGE
from ragline_common.errors import NotFound, UpstreamUnavailable
from ragline_common.ports.broker import DeadLetter, ReplayPreparation
from ragline_common.tenancy import TenantId
from ragline_common.topology import QueueName

_log = structlog.get_logger(__name__)

_MAX_FULL_SCAN = 100_000


class RabbitDeadLetters:
    """The operator's view of the parked messages (see the module docstring for how it reads)."""

    def __init__(self, link: RabbitLink, *, scan_limit: int) -> None:
        self._link = link
        self._scan_limit = scan_limit
        self._lock = asyncio.Lock()

    async def list_letters(self, tenant_id: TenantId | None, limit: int) -> list[DeadLetter]:
        """The ``limit`` oldest parked messages of one window, optionally of one tenant only.

        RabbitMQ does not promise the order of returned messages, so "oldest" comes from sorting
        by the time each message was parked.
        """
        found: list[DeadLetter] = []
        unclean: list[tuple[AbstractIncomingMessage, DeadLetter]] = []
        async with self._scan(self._scan_limit) as scan:
            async for message in scan:
                record = self.record(message)
                if holds_credentials(message.headers):
                    unclean.append((message, record))
                if tenant_id is None or record.tenant_id == tenant_id:
                    found.append(record)
            # After the scan, so that the clean copies (at the back) are not read twice.
            for message, record in unclean:
                await self._replace_by_clean_copy(message, record)
        return oldest_first(found, limit)

    async def replay_letter(
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
        async with self._scan(_MAX_FULL_SCAN) as scan:
            async for message in scan:
                record = self.record(message)
                if record.id != dead_letter_id or record.tenant_id != tenant_id:
                    continue
                if prepare is not None:
                    await prepare(record)
                await self._link.publish(
                    DEFAULT_EXCHANGE,
                    self._link.name(record.queue),
                    persistent_copy(message, replay_headers(record.headers)),
                )
                await message.ack()
                _log.info(
                    "broker_dead_letter_replayed",
                    queue=record.queue.value,
                    tenant_id=record.tenant_id,
                )
                return record
        raise NotFound(f"No dead letter with id {dead_letter_id}.")

    async def purge_letters(self, tenant_id: TenantId | None) -> int:
        """Drop parked messages (of one tenant, or all); returns how many were dropped."""
        purged = 0
        if tenant_id is None:
            admin = self._link.require_admin()
            try:
                async with asyncio.timeout(self._link.publish_timeout_s):
                    channel = await admin.get_underlay_channel()
                    result = await channel.queue_purge(self._link.name(QueueName.DEAD_LETTERS))
            except BROKER_ERRORS as exc:
                raise UpstreamUnavailable("RabbitMQ did not purge the dead letters.") from exc
            purged = int(result.message_count or 0)
        else:
            async with self._scan(_MAX_FULL_SCAN) as scan:
                async for message in scan:
                    if self.record(message).tenant_id == tenant_id:
                        await message.ack()
                        purged += 1
        _log.info("broker_dead_letters_purged", count=purged, tenant_id=tenant_id)
        return purged

    def record(self, message: AbstractIncomingMessage) -> DeadLetter:
        """A parked message as the operator sees it, from what Ragline or RabbitMQ recorded."""
        return dead_letter_record(
            id=message.message_id or f"dl_{hashlib.sha256(message.body).hexdigest()[:32]}",
            routing_key=message.routing_key or "",
            body=message.body,
            headers=believed_headers(
                message.headers, QueueName.DEAD_LETTERS, namespace=self._link.namespace
            ),
        )

    @asynccontextmanager
    async def _scan(self, limit: int) -> AsyncIterator[AsyncIterator[AbstractIncomingMessage]]:
        """Iterate the first ``limit`` dead letters, holding each unacked until the scan ends.

        Messages the caller did not ack go back to the queue, in the order read, on exit.
        """
        admin = self._link.require_admin()
        held: list[AbstractIncomingMessage] = []
        async with self._lock:
            source = await admin.get_queue(self._link.name(QueueName.DEAD_LETTERS), ensure=False)

            async def scan() -> AsyncIterator[AbstractIncomingMessage]:
                # Until the queue runs dry (held messages are not handed out twice) or the
                # cap, which also keeps a flood of new dead letters from making a scan endless.
                for _ in range(limit):
                    try:
                        message = await source.get(
                            no_ack=False, fail=False, timeout=self._link.publish_timeout_s
                        )
                    except BROKER_ERRORS as exc:
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
                        except BROKER_ERRORS as exc:
                            # The channel is gone, and with it the hold: RabbitMQ requeued them.
                            _log.warning(
                                "broker_dead_letter_return_failed", error_type=type(exc).__name__
                            )
                            break

    async def _replace_by_clean_copy(
        self, message: AbstractIncomingMessage, record: DeadLetter
    ) -> None:
        """Swap a letter RabbitMQ parked with a credential for a copy without, described alike.

        Ragline parks clean copies itself, but a consumer that dies on a message's last delivery
        leaves RabbitMQ to park the message as it was; the first read cleans it up. The copy is
        confirmed before the original is acked, so a failure leaves the original in place.
        """
        copy = persistent_copy(message, record.headers)
        try:
            await self._link.publish(
                DEFAULT_EXCHANGE, self._link.name(QueueName.DEAD_LETTERS), copy
            )
            await message.ack()
        except (UpstreamUnavailable, *BROKER_ERRORS) as exc:
            _log.warning("broker_dead_letter_clean_failed", error_type=type(exc).__name__)
