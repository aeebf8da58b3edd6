"""Tracing and metrics of the broker hop, written once for every broker adapter.

A publish runs inside a PRODUCER span whose context travels in the message's ``traceparent``
header; the consumer parents its CONSUMER span on it (``extract_context``), so an upload is one
trace from the gateway through the queue to the worker. Span names and attributes follow the
OpenTelemetry messaging conventions (``<destination> publish``, ``messaging.*``).

Consumer lag is measured from a publication timestamp header that every (re)publication sets,
so a retried or replayed message's wait counts from when it was sent back, not from the upload.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING

import structlog
from opentelemetry import trace
from opentelemetry.trace import SpanKind

from ragline_common.observability.metrics import QUEUE_MESSAGES, QUEUE_WAIT
from ragline_common.observability.tracing import extract_context

if TYPE_CHECKING:
    from ragline_common.ports.broker import Broker
    from ragline_common.topology import QueueName

HEADER_PUBLISHED_AT = "x-ragline-published-at"
"""Unix time (seconds, as text) the message was last published; for the consumer-lag metric."""

_tracer = trace.get_tracer("ragline.messaging")
_log = structlog.get_logger(__name__)


@contextlib.contextmanager
def publish_span(
    *,
    system: str,
    exchange: str,
    routing_key: str,
    message_id: str,
    message_type: str,
    tenant_id: str,
    caller_headers: Mapping[str, str] | None = None,
) -> Iterator[None]:
    """A PRODUCER span around one publish; inject the context *inside* it.

    A ``traceparent`` the caller put in the message headers names the parent explicitly (a
    publisher may send on behalf of a trace that is not the current one); otherwise the span
    is a child of the current context.
    """
    parent = (
        extract_context(caller_headers)
        if caller_headers and "traceparent" in caller_headers
        else None
    )
    with _tracer.start_as_current_span(
        f"{exchange} publish",
        context=parent,
        kind=SpanKind.PRODUCER,
        attributes={
            "messaging.system": system,
            "messaging.operation.type": "send",
            "messaging.destination.name": exchange,
            "messaging.rabbitmq.destination.routing_key": routing_key,
            "messaging.message.id": message_id,
            "ragline.message.type": message_type,
            "tenant.id": tenant_id,
        },
    ):
        yield


@contextlib.contextmanager
def consumer_span(
    queue: QueueName,
    headers: Mapping[str, str],
    *,
    message_id: str | None,
    message_type: str | None,
    tenant_id: str | None,
) -> Iterator[trace.Span]:
    """A CONSUMER span around handling one delivery, continuing the publisher's trace.

    Its parent is the ``traceparent`` in ``headers`` (the publish span), never the current
    context: a consumer loop's own context says nothing about the message it handles.
    Fields are None where the handler cannot know or trust them yet (the intake queue's body
    is decoded and its tenant authenticated inside the span); the handler's tenant binding
    then stamps the spans it starts.
    """
    attributes = {
        "messaging.operation.type": "process",
        "messaging.destination.name": queue.value,
    }
    optional = {
        "messaging.message.id": message_id,
        "ragline.message.type": message_type,
        "tenant.id": tenant_id,
    }
    attributes |= {key: value for key, value in optional.items() if value}
    with _tracer.start_as_current_span(
        f"{queue.value} process",
        context=extract_context(headers),
        kind=SpanKind.CONSUMER,
        attributes=attributes,
    ) as span:
        yield span


def stamp_published_at() -> dict[str, str]:
    return {HEADER_PUBLISHED_AT: f"{time.time():.3f}"}


def observe_queue_wait(queue: QueueName, headers: Mapping[str, str]) -> None:
    """Record how long the delivered message waited, if it says when it was published."""
    try:
        published_at = float(headers[HEADER_PUBLISHED_AT])
    except (KeyError, ValueError):
        return
    QUEUE_WAIT.labels(queue.value).observe(max(0.0, time.time() - published_at))


async def sample_queue_depths(
    broker: Broker, queues: Sequence[QueueName], *, interval_s: float
) -> None:
    """Refresh the queue-depth gauge until cancelled; a failed sample keeps the last value.

    Every process with a broker samples, so dashboards aggregate with ``max by (queue)``.
    """
    while True:
        for queue in queues:
            try:
                QUEUE_MESSAGES.labels(queue.value).set(await broker.queue_depth(queue))
            except Exception as exc:
                _log.debug("queue_depth_sample_failed", queue=queue.value, error=type(exc).__name__)
        await asyncio.sleep(interval_s)
