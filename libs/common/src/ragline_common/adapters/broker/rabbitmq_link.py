"""The connection to RabbitMQ and its two long-lived channels, shared by the broker's parts.

Publishing (confirmed, mandatory, bounded by a timeout), the operator's dead-letter reads and
the settlement of consumed messages all go through one :class:`RabbitLink`, so "not connected"
and "did not confirm" mean the same thing, and raise the same ``UpstreamUnavailable``, wherever
they happen.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

import aio_pika
import structlog
from aio_pika.abc import (
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractRobustChannel,
    AbstractRobustConnection,
)
from aio_pika.exceptions import AMQPError, ChannelInvalidStateError, DeliveryError

from ragline_common.adapters.broker.rabbitmq_topology import declare_topology
from ragline_common.errors import UpstreamUnavailable

_log = structlog.get_logger(__name__)

BROKER_ERRORS = (AMQPError, ChannelInvalidStateError, ConnectionError, OSError, TimeoutError)
"""What aio-pika raises when RabbitMQ is unreachable, slow, or closed the channel."""
JSON = "application/json"


class RabbitLink:
    """One robust connection: a confirming channel to publish on and an admin channel.

    The admin channel serves queue inquiries and dead-letter reads; a quorum queue applies one
    channel's commands in order, which the dead-letter reads rely on (see
    :mod:`.rabbitmq_dead_letters`). ``namespace`` is the prefix of every name, as
    :func:`~.rabbitmq_topology.namespace_prefix` makes it.
    """

    def __init__(
        self,
        url: str,
        *,
        namespace: str,
        publish_timeout_s: float,
        connect_timeout_s: float,
        close_timeout_s: float,
    ) -> None:
        self._url = url
        self.namespace = namespace
        self.publish_timeout_s = publish_timeout_s
        self._connect_timeout_s = connect_timeout_s
        self._close_timeout_s = close_timeout_s
        self._connection: AbstractRobustConnection | None = None
        self._publisher: AbstractRobustChannel | None = None
        self._admin: AbstractRobustChannel | None = None
        self._exchanges: dict[str, AbstractExchange] = {}

    @property
    def connected(self) -> bool:
        return self._connection is not None and not self._connection.is_closed

    async def connect(self, *, retry_delays_s: Sequence[float], delivery_limit: int) -> None:
        """Connect, open both channels and declare the topology; all of it, or nothing."""
        try:
            async with asyncio.timeout(self._connect_timeout_s):
                self._connection = await aio_pika.connect_robust(
                    self._url,
                    timeout=self._connect_timeout_s,
                    client_properties={"connection_name": f"ragline:{self.namespace}"},
                )
                self._publisher = self._connection.channel(
                    publisher_confirms=True, on_return_raises=True
                )
                await self._publisher.initialize(timeout=self._connect_timeout_s)
                self._admin = self._connection.channel(publisher_confirms=False)
                await self._admin.initialize(timeout=self._connect_timeout_s)
                self._exchanges = await declare_topology(
                    self._publisher,
                    namespace=self.namespace,
                    retry_delays_s=retry_delays_s,
                    delivery_limit=delivery_limit,
                )
        except BROKER_ERRORS as exc:
            await self.disconnect()
            raise UpstreamUnavailable("RabbitMQ is unreachable or refused the topology.") from exc

    async def disconnect(self) -> None:
        connection, self._connection = self._connection, None
        self._publisher = self._admin = None
        self._exchanges.clear()
        if connection is None:
            return
        try:
            async with asyncio.timeout(self._close_timeout_s):
                await connection.close()
        except BROKER_ERRORS as exc:
            _log.warning("broker_disconnect_failed", error_type=type(exc).__name__)

    def name(self, name: str) -> str:
        """The namespaced name of an exchange or queue of the topology."""
        return f"{self.namespace}{name}"

    def require_connection(self) -> AbstractRobustConnection:
        if self._connection is None or self._connection.is_closed:
            raise UpstreamUnavailable("The RabbitMQ broker is not connected.")
        return self._connection

    def require_admin(self) -> AbstractRobustChannel:
        if self._admin is None or self._admin.is_closed:
            raise UpstreamUnavailable("The RabbitMQ broker is not connected.")
        return self._admin

    async def publish(self, exchange: str, routing_key: str, message: aio_pika.Message) -> None:
        """Publish mandatory and confirmed, bounded by the publish timeout, or raise."""
        if self._publisher is None or self._publisher.is_closed or exchange not in self._exchanges:
            raise UpstreamUnavailable("The RabbitMQ broker is not connected.")
        target = self._exchanges[exchange]
        try:
            async with asyncio.timeout(self.publish_timeout_s):
                await target.publish(
                    message, routing_key, mandatory=True, timeout=self.publish_timeout_s
                )
        except DeliveryError as exc:
            raise UpstreamUnavailable(
                f"RabbitMQ did not accept the message for {routing_key!r} (unroutable or nacked)."
            ) from exc
        except BROKER_ERRORS as exc:
            raise UpstreamUnavailable("RabbitMQ did not confirm the message in time.") from exc


def persistent_copy(
    message: AbstractIncomingMessage, headers: Mapping[str, str]
) -> aio_pika.Message:
    """A received message to publish again (retry, dead letter, replay) with new headers."""
    return aio_pika.Message(
        body=message.body,
        content_type=message.content_type or JSON,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        message_id=message.message_id,
        headers=dict(headers),
    )
