"""One way to consume a message: decode it, join its trace, bind its log context, route by type.

Every consumer of Ragline's queues is a :class:`MessageConsumer` given typed handler functions,
one per message type (``route(DocumentIngestRequested, pipeline.ingest)``), in the manner of
FastStream's subscribers. What used to be written out in each consumer, and drifted, is here once:

1. the body is decoded (:func:`decode_envelope` by default; a queue whose bodies are not
   Ragline's envelopes gives its own decoder). A decoding error escapes before anything else
   happens, so the broker dead-letters the message with the reason, as for any
   ``pydantic.ValidationError``;
2. the CONSUMER span opens, parented on the ``traceparent`` the publisher sent
   (:func:`~ragline_common.observability.messaging.consumer_span`);
3. the log context is bound: tenant, event id, the document and job ids the message names, and
   the delivery attempt, so every log line of the handling says which message it is about;
4. the message goes to the handler registered for its exact type. A type the queue has no
   handler for is a :class:`~ragline_common.errors.PermanentProcessingError` (dead-lettered):
   retrying cannot make it belong.

Settlement stays the broker adapter's job, decided by what the handler raises (see
:data:`ragline_common.ports.broker.Handler`): a :class:`MessageConsumer` is such a handler.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import structlog

from ragline_common.errors import PermanentProcessingError
from ragline_common.messages import (
    DocumentDeleteRequested,
    DocumentIngestRequested,
    JobStatusChanged,
    KnownMessage,
    TenantDeleteRequested,
    parse_message,
)
from ragline_common.observability.messaging import consumer_span
from ragline_common.ports.broker import Delivery
from ragline_common.tenancy import TenantId
from ragline_common.topology import QueueName

M = TypeVar("M")

LogValue = str | int


@dataclass(frozen=True)
class MessageIdentity:
    """What the consumer span and the log context say about a message.

    Only what the consumer believes goes here: a field left None is left out of both (the
    intake queue knows none of them before it authenticates the producer's key).
    """

    message_id: str | None = None
    message_type: str | None = None
    tenant_id: TenantId | None = None
    ids: Mapping[str, LogValue] = field(default_factory=dict)
    """The entities the message is about (``document_id``, ``job_id``, ``version``)."""


@dataclass(frozen=True)
class Decoded(Generic[M]):
    """A delivery's body as its handler takes it, and what may be said about it."""

    message: M
    identity: MessageIdentity


Decoder = Callable[[Delivery], Decoded[Any] | None]
"""Turns a delivery into the message a handler takes; None means "not for this consumer":
the delivery is acknowledged and nothing runs (a listener that sees every dead letter, say)."""


@dataclass(frozen=True)
class Route(Generic[M]):
    """One message type and the function that handles it; :func:`route` checks they agree."""

    message_type: type[M]
    handle: Callable[[M], Awaitable[None]]


def route(message_type: type[M], handle: Callable[[M], Awaitable[None]]) -> Route[M]:
    """Pair a message type with its handler (the type checker refuses a handler of another)."""
    return Route(message_type, handle)


def envelope_identity(message: KnownMessage) -> MessageIdentity:
    """The identity of one of Ragline's own envelopes, all of whose fields a consumer believes."""
    ids: dict[str, LogValue] = {}
    match message:
        case DocumentIngestRequested() | JobStatusChanged():
            ids = {
                "document_id": message.document_id,
                "job_id": message.job_id,
                "version": message.version,
            }
        case DocumentDeleteRequested():
            ids = {"document_id": message.document_id}
        case TenantDeleteRequested():
            pass
    return MessageIdentity(
        message_id=message.event_id,
        message_type=message.type,
        tenant_id=message.tenant_id,
        ids=ids,
    )


def decode_envelope(delivery: Delivery) -> Decoded[KnownMessage]:
    """Decode one of Ragline's envelopes (raises ``pydantic.ValidationError`` or a JSON error)."""
    message = parse_message(delivery.body)
    return Decoded(message, envelope_identity(message))


def undecoded(delivery: Delivery) -> Decoded[Delivery]:
    """The delivery itself, unread, for a handler that may read its body only after a check.

    The intake queue's body is an outside producer's, read once its API key is authenticated;
    until then nothing about it is believed, so its identity is empty.
    """
    return Decoded(delivery, MessageIdentity())


class MessageConsumer:
    """The broker handler of one queue: decode, span, log context, then the handler of the type.

    ``routes`` may name each type once; a message of any other type is refused for good.
    """

    def __init__(
        self,
        queue: QueueName,
        routes: Sequence[Route[Any]],
        *,
        decode: Decoder = decode_envelope,
    ) -> None:
        handlers: dict[type[Any], Callable[[Any], Awaitable[None]]] = {}
        for each in routes:
            if each.message_type in handlers:
                raise ValueError(f"{each.message_type.__name__} is routed twice on {queue.value}")
            handlers[each.message_type] = each.handle
        self._queue = queue
        self._handlers: Mapping[type[Any], Callable[[Any], Awaitable[None]]] = handlers
        self._decode = decode

    async def __call__(self, delivery: Delivery) -> None:
        decoded = self._decode(delivery)
        if decoded is None:
            return
        identity = decoded.identity
        with (
            consumer_span(
                self._queue,
                delivery.headers,
                message_id=identity.message_id,
                message_type=identity.message_type,
                tenant_id=identity.tenant_id,
            ),
            structlog.contextvars.bound_contextvars(**_log_context(identity, delivery)),
        ):
            handle = self._handlers.get(type(decoded.message))
            if handle is None:
                raise PermanentProcessingError(
                    f"{identity.message_type or type(decoded.message).__name__} messages do not "
                    f"belong on the {_short_name(self._queue)} queue",
                    code="unexpected_message",
                )
            await handle(decoded.message)


def _log_context(identity: MessageIdentity, delivery: Delivery) -> dict[str, LogValue]:
    context: dict[str, LogValue] = {}
    if identity.tenant_id:
        context["tenant_id"] = identity.tenant_id
    if identity.message_id:
        context["event_id"] = identity.message_id
    return context | {"attempt": delivery.attempt, **identity.ids}


def _short_name(queue: QueueName) -> str:
    """``ragline.ingestion`` -> ``ingestion``: how a reason names a queue to a reader."""
    return queue.value.removeprefix("ragline.")
