"""What happens to a consumed message, decided once, by the exception its handler raised.

- returns: ack.
- ``PermanentProcessingError``, ``pydantic.ValidationError``, malformed JSON: a copy goes to the
  dead-letter exchange with the reason (publisher-confirmed), *then* the original is acked.
- ``TransientProcessingError``, and ``UpstreamUnavailable`` escaping the handler: a copy goes to
  the delay queue of the next attempt (confirmed), then the original is acked. The broker sees a
  clean ack, so a long outage of a dependency does not use up the queue's delivery limit, which
  is kept for crashes and unexpected errors. ``UpstreamUnavailable`` is the one exception every
  adapter raises for "down right now" (a catalog failover, SQLite "database is locked", a vector
  store restart); mapping it here means no consumer can forget to, and a handler that does
  translate it explicitly says so for its readers, not for correctness.
- anything else: nack with requeue; the broker counts it against the delivery limit and parks
  the message itself once the limit is exceeded (a poison message cannot loop forever).

Publishing the copy before acking means a crash in between duplicates, never loses, a message:
consumers are idempotent by ``event_id``.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Mapping, Sequence
from typing import Protocol

import structlog
from pydantic import ValidationError
from structlog.typing import FilteringBoundLogger as BoundLogger

from ragline_common.adapters.broker.headers import (
    dead_letter_headers,
    retry_headers,
)
from ragline_common.errors import (
    PermanentProcessingError,
    RaglineError,
    TransientProcessingError,
    UpstreamUnavailable,
)
from ragline_common.observability.messaging import observe_queue_wait
from ragline_common.observability.metrics import MESSAGES_HANDLED
from ragline_common.ports.broker import Delivery, Handler
from ragline_common.topology import PARKING_QUEUES, QueueName

_log = structlog.get_logger(__name__)

_MALFORMED = (json.JSONDecodeError, UnicodeDecodeError)


class Settlement(Protocol):
    """The adapter-specific moves available on one received message."""

    async def ack(self) -> None: ...

    async def requeue(self) -> None:
        """Give the message back to its queue; counts against the delivery limit."""

    async def dead_letter(self, routing_key: str, headers: Mapping[str, str]) -> None:
        """Publish a copy to the dead-letter exchange; return once the broker confirmed it."""

    async def retry_later(self, delay_s: float, headers: Mapping[str, str]) -> None:
        """Publish a copy that returns to the queue after ``delay_s``; return once confirmed."""


def retry_delay(delays_s: Sequence[float], attempt: int) -> float:
    """Delay tier of transient retry number ``attempt`` (1-based); the last tier repeats."""
    return delays_s[min(attempt, len(delays_s)) - 1]


def failure_reason(exc: Exception) -> str:
    """Human-readable reason for the dead-letter record, without echoing the message body."""
    if isinstance(exc, ValidationError):
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'message'}: {error['msg']}"
            for error in exc.errors(include_url=False, include_input=False)
        )
        return f"invalid message: {problems}"
    if isinstance(exc, json.JSONDecodeError):
        return f"malformed JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
    if isinstance(exc, UnicodeDecodeError):
        return f"malformed message body: not {exc.encoding} at byte {exc.start}"
    if isinstance(exc, RaglineError):
        return exc.detail
    return type(exc).__name__


async def settle(
    handler: Handler,
    delivery: Delivery,
    settlement: Settlement,
    *,
    queue: QueueName,
    retry_delays_s: Sequence[float],
) -> None:
    """Run ``handler`` on ``delivery`` and settle the message by the outcome policy above."""
    log = _log.bind(queue=queue.value, routing_key=delivery.routing_key, attempt=delivery.attempt)
    observe_queue_wait(queue, delivery.headers)
    try:
        await handler(delivery)
    except (TransientProcessingError, UpstreamUnavailable) as exc:
        attempt = delivery.attempt + 1
        delay_s = retry_delay(retry_delays_s, attempt)
        headers = retry_headers(delivery.headers, attempt=attempt, routing_key=delivery.routing_key)
        if await _forward(settlement.retry_later(delay_s, headers), settlement, log):
            log.info(
                "broker_retry_scheduled", next_attempt=attempt, delay_s=delay_s, reason=exc.detail
            )
            _count(queue, "retry")
    except (PermanentProcessingError, ValidationError, *_MALFORMED) as exc:
        reason = failure_reason(exc)
        if queue in PARKING_QUEUES:
            # Parking it again would feed it straight back here: drop it, loudly.
            log.error("broker_parked_copy_dropped", reason=reason[:200])
            await _settle_quietly(settlement.ack(), log)
            _count(queue, "dropped")
            return
        headers = dead_letter_headers(
            delivery.headers,
            reason=reason,
            queue=queue,
            routing_key=delivery.routing_key,
            tenant_id=exc.tenant_id if isinstance(exc, PermanentProcessingError) else None,
        )
        if await _forward(settlement.dead_letter(delivery.routing_key, headers), settlement, log):
            log.warning("broker_message_dead_lettered", reason=reason[:200])
            _count(queue, "dead_letter")
    except Exception as exc:
        log.warning("broker_handler_failed", error_type=type(exc).__name__, exc_info=True)
        await _settle_quietly(settlement.requeue(), log)
        _count(queue, "requeue")
    else:
        await _settle_quietly(settlement.ack(), log)
        _count(queue, "ack")


async def _forward(publish_copy: Awaitable[None], settlement: Settlement, log: BoundLogger) -> bool:
    """Publish the copy, then ack; if the copy could not be published, requeue the original."""
    try:
        await publish_copy
    except Exception as exc:
        log.warning("broker_forward_failed", error_type=type(exc).__name__)
        await _settle_quietly(settlement.requeue(), log)
        return False
    await _settle_quietly(settlement.ack(), log)
    return True


async def _settle_quietly(move: Awaitable[None], log: BoundLogger) -> None:
    """Ack/nack on a dead channel cannot succeed; the broker redelivers such messages anyway."""
    try:
        await move
    except Exception as exc:
        log.warning("broker_settle_failed", error_type=type(exc).__name__)


def _count(queue: QueueName, outcome: str) -> None:
    MESSAGES_HANDLED.labels(queue=queue.value, outcome=outcome).inc()
