"""The message headers Ragline sets and reads, shared by every broker adapter.

Retry and dead-letter state travels in headers of a *copy* of the message (rather than in broker
bookkeeping) so that both adapters can implement it identically and an operator reading a parked
message sees why and where it failed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from ragline_common.messages import Envelope
from ragline_common.observability.messaging import stamp_published_at
from ragline_common.observability.tracing import inject_context
from ragline_common.ports.broker import DeadLetter
from ragline_common.tenancy import TenantId
from ragline_common.topology import CREDENTIAL_HEADERS, QueueName

HEADER_TENANT = "x-ragline-tenant"
HEADER_TYPE = "x-ragline-type"
HEADER_ATTEMPT = "x-ragline-attempt"
HEADER_ROUTING_KEY = "x-ragline-routing-key"
"""Original routing key; a retried or replayed copy travels to its queue under another key."""
HEADER_REASON = "x-ragline-reason"
HEADER_QUEUE = "x-ragline-queue"
HEADER_DEAD_LETTERED_AT = "x-ragline-dead-lettered-at"

REASON_DELIVERY_LIMIT = "delivery limit exceeded"
MAX_REASON_CHARS = 1000

_DEAD_LETTER_HEADERS = (HEADER_REASON, HEADER_QUEUE, HEADER_DEAD_LETTERED_AT, HEADER_ATTEMPT)
# Set by RabbitMQ when it dead-letters; a copy we publish must not carry stale broker history.
_BROKER_OWNED_PREFIXES = ("x-first-death-", "x-last-death-", "x-death", "x-delivery-count")


def publish_headers(message: Envelope, extra: Mapping[str, str] | None) -> dict[str, str]:
    """Headers of a freshly published message; ours win so a caller cannot spoof the tenant.

    Call it inside the publish span: the ``traceparent`` it injects is that span's, so the
    consumer's span becomes its child.
    """
    message_type = getattr(message, "type", type(message).__name__)
    return {
        **(extra or {}),
        **inject_context(),
        **stamp_published_at(),
        HEADER_TENANT: str(message.tenant_id),
        HEADER_TYPE: str(message_type),
    }


def publish_span_fields(
    message: Envelope, exchange: str, routing_key: str, system: str
) -> dict[str, str]:
    """What the publish span records of ``message`` (see ``observability.messaging``)."""
    return {
        "system": system,
        "exchange": exchange,
        "routing_key": routing_key,
        "message_id": message.event_id,
        "message_type": str(getattr(message, "type", type(message).__name__)),
        "tenant_id": str(message.tenant_id),
    }


def application_headers(raw: Mapping[str, object] | None) -> dict[str, str]:
    """The string headers a handler sees: broker-owned and non-text headers dropped."""
    return {
        key: value
        for key, value in (raw or {}).items()
        if isinstance(value, str) and not key.startswith(_BROKER_OWNED_PREFIXES)
    }


def attempt_of(headers: Mapping[str, str]) -> int:
    """Transient retries so far; a missing or garbled header counts as a first delivery."""
    try:
        return max(0, int(headers.get(HEADER_ATTEMPT, "0")))
    except ValueError:
        return 0


def original_routing_key(headers: Mapping[str, str], delivered_with: str) -> str:
    return headers.get(HEADER_ROUTING_KEY, delivered_with)


def retry_headers(headers: Mapping[str, str], *, attempt: int, routing_key: str) -> dict[str, str]:
    return {
        **headers,
        **stamp_published_at(),
        HEADER_ATTEMPT: str(attempt),
        HEADER_ROUTING_KEY: routing_key,
    }


def dead_letter_headers(
    headers: Mapping[str, str],
    *,
    reason: str,
    queue: QueueName,
    routing_key: str,
    tenant_id: str | None = None,
) -> dict[str, str]:
    """Headers of a parked copy: credentials dropped, and the tenant only if one is known.

    Messages on the public intake queue carry headers their producers chose, so a tenant they
    claim is not believed; the handler's authenticated ``tenant_id`` is.
    """
    kept = {key: value for key, value in headers.items() if key.lower() not in CREDENTIAL_HEADERS}
    if queue is QueueName.INTAKE:
        kept.pop(HEADER_TENANT, None)
    if tenant_id is not None:
        kept[HEADER_TENANT] = tenant_id
    return {
        **kept,
        HEADER_ROUTING_KEY: routing_key,
        HEADER_REASON: reason[:MAX_REASON_CHARS],
        HEADER_QUEUE: queue.value,
        HEADER_DEAD_LETTERED_AT: datetime.now(UTC).isoformat(),
    }


def replay_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """A replayed message starts afresh: no failure record, no retry count."""
    kept = {key: value for key, value in headers.items() if key not in _DEAD_LETTER_HEADERS}
    return {**kept, **stamp_published_at()}


def dead_letter_record(
    *,
    id: str,
    routing_key: str,
    body: bytes,
    headers: Mapping[str, str],
    fallback_queue: QueueName,
    fallback_reason: str,
    fallback_at: datetime,
) -> DeadLetter:
    """Describe a parked message from our headers, with fallbacks for broker-parked ones."""
    queue_name = headers.get(HEADER_QUEUE)
    queue = QueueName(queue_name) if queue_name in set(QueueName) else fallback_queue
    at_text = headers.get(HEADER_DEAD_LETTERED_AT)
    try:
        dead_lettered_at = datetime.fromisoformat(at_text) if at_text else fallback_at
    except ValueError:
        dead_lettered_at = fallback_at
    tenant = headers.get(HEADER_TENANT)
    return DeadLetter(
        id=id,
        queue=queue,
        routing_key=original_routing_key(headers, routing_key),
        tenant_id=TenantId(tenant) if tenant else None,
        reason=headers.get(HEADER_REASON, fallback_reason),
        dead_lettered_at=dead_lettered_at,
        body=body,
        headers=dict(headers),
    )


def oldest_first(records: list[DeadLetter], limit: int) -> list[DeadLetter]:
    """The ``limit`` records parked earliest (a stable sort keeps queue order for ties)."""
    return sorted(records, key=lambda record: record.dead_lettered_at)[: max(0, limit)]
