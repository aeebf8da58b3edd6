"""The message headers Ragline sets and reads, shared by every broker adapter.

Retry and dead-letter state travels in headers of a *copy* of the message (rather than in broker
bookkeeping) so that both adapters can implement it identically and an operator reading a parked
message sees why and where it failed.

Which headers are believed (the trust boundary; :func:`believed_headers` applies it on every
delivery and every dead-letter read):

- on the internal queues (commands, events), all of them: only Ragline publishes there, and
  :func:`publish_headers` overwrites any tenant or type a caller passes;
- on the intake, the one queue outside producers write to, no ``x-ragline-*`` header except the
  API key (a credential to check, never an identity) and the retry count (it only picks the
  delay tier of the producer's own message): anything else there could be forged;
- on a parked letter, what Ragline wrote when it parked it, or, for a letter RabbitMQ parked
  itself (delivery limit), RabbitMQ's newest ``x-death`` entry, which no publisher can put in
  front of it. A parked letter never keeps credentials.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ragline_common.messages import Envelope
from ragline_common.observability.messaging import stamp_published_at
from ragline_common.observability.tracing import inject_context
from ragline_common.ports.broker import DeadLetter
from ragline_common.tenancy import TenantId
from ragline_common.topology import (
    CREDENTIAL_HEADERS,
    INTAKE_API_KEY_HEADER,
    PARKING_QUEUES,
    QueueName,
)

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

_OWN_PREFIX = "x-ragline-"
_PRODUCER_MAY_SET = frozenset({INTAKE_API_KEY_HEADER, HEADER_ATTEMPT})
"""The only ``x-ragline-*`` headers believed from an outside producer (see above)."""
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
    """The string headers of a message: broker-owned and non-text headers dropped."""
    return {
        key: value
        for key, value in (raw or {}).items()
        if isinstance(value, str) and not key.startswith(_BROKER_OWNED_PREFIXES)
    }


def believed_headers(
    raw: Mapping[str, object] | None, queue: QueueName, *, namespace: str = ""
) -> dict[str, str]:
    """The headers a handler of ``queue`` (or a dead-letter reader) is given.

    Only what Ragline can vouch for (see the module docstring). ``namespace`` is the adapter's
    name prefix, which the queue names in ``x-death`` carry.
    """
    headers = application_headers(raw)
    if queue is QueueName.INTAKE:
        return outside_producer_headers(headers)
    if queue in PARKING_QUEUES:
        return _parked_headers(raw or {}, headers, namespace)
    return headers


def outside_producer_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """A producer's headers without the ``x-ragline-*`` ones it may not set (see above).

    Applied at the door (intake deliveries) and again when such a message is parked, so a
    forged tenant, type, origin queue, reason or routing key is dropped on every path.
    """
    return {
        key: value
        for key, value in headers.items()
        if not key.lower().startswith(_OWN_PREFIX) or key.lower() in _PRODUCER_MAY_SET
    }


def _parked_headers(
    raw: Mapping[str, object], headers: dict[str, str], namespace: str
) -> dict[str, str]:
    """A parked letter's headers; one RabbitMQ parked is described as Ragline would park it.

    Ragline's own parked copies never carry ``x-death`` (:func:`application_headers` drops it
    before any copy is made), so its presence means RabbitMQ parked the message as it was, with
    the headers its publisher chose; only the newest ``x-death`` entry is RabbitMQ's own.
    """
    death = _newest_death(raw)
    if death is None:
        return {
            key: value for key, value in headers.items() if key.lower() not in CREDENTIAL_HEADERS
        }
    origin_name = str(death.get("queue") or "").removeprefix(namespace)
    origin = QueueName(origin_name) if origin_name in set(QueueName) else None
    if origin is None:
        # Not one of our queues: nothing about it is vouched for, and it is replayed nowhere.
        headers, origin = outside_producer_headers(headers), QueueName.DEAD_LETTERS
    cause = death.get("reason")
    at = death.get("time")
    return dead_letter_headers(
        headers,
        reason=(
            REASON_DELIVERY_LIMIT
            if cause == "delivery_limit"
            else f"dead-lettered by RabbitMQ: {cause or 'unknown'}"
        ),
        queue=origin,
        routing_key=None,
        at=at if isinstance(at, datetime) else None,
    )


def _newest_death(raw: Mapping[str, object]) -> Mapping[str, Any] | None:
    """RabbitMQ puts the death it records first; later entries may be a publisher's forgery."""
    deaths = raw.get("x-death")
    if isinstance(deaths, list) and deaths and isinstance(deaths[0], Mapping):
        return deaths[0]
    return None


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
    routing_key: str | None,
    tenant_id: str | None = None,
    at: datetime | None = None,
) -> dict[str, str]:
    """Headers of a parked copy: credentials dropped, and the tenant only if one is known.

    A message from the public intake carries headers its producer chose, so none of its
    ``x-ragline-*`` claims is kept (a tenant least of all); the handler's authenticated
    ``tenant_id`` is the letter's tenant. ``routing_key`` None keeps the one recorded, if any.
    """
    kept = _without_credentials(headers)
    if queue is QueueName.INTAKE:
        kept = outside_producer_headers(kept)
    if tenant_id is not None:
        kept[HEADER_TENANT] = tenant_id
    if routing_key is not None:
        kept[HEADER_ROUTING_KEY] = routing_key
    return {
        **kept,
        HEADER_REASON: reason[:MAX_REASON_CHARS],
        HEADER_QUEUE: queue.value,
        HEADER_DEAD_LETTERED_AT: (at or datetime.now(UTC)).isoformat(),
    }


def holds_credentials(raw: Mapping[str, object] | None) -> bool:
    """Whether a stored message still carries a credential (one RabbitMQ parked as it was)."""
    return any(key.lower() in CREDENTIAL_HEADERS for key in (raw or {}))


def _without_credentials(headers: Mapping[str, str]) -> dict[str, str]:
    return {key: value for key, value in headers.items() if key.lower() not in CREDENTIAL_HEADERS}


def replay_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """A replayed message starts afresh: no failure record, no retry count."""
    kept = {key: value for key, value in headers.items() if key not in _DEAD_LETTER_HEADERS}
    return {**kept, **stamp_published_at()}


def dead_letter_record(
    *, id: str, routing_key: str, body: bytes, headers: Mapping[str, str]
) -> DeadLetter:
    """Describe a parked message from its believed headers (see :func:`believed_headers`)."""
    queue_name = headers.get(HEADER_QUEUE)
    at_text = headers.get(HEADER_DEAD_LETTERED_AT)
    try:
        dead_lettered_at = datetime.fromisoformat(at_text) if at_text else datetime.now(UTC)
    except ValueError:
        dead_lettered_at = datetime.now(UTC)
    tenant = headers.get(HEADER_TENANT)
    return DeadLetter(
        id=id,
        queue=QueueName(queue_name) if queue_name in set(QueueName) else QueueName.DEAD_LETTERS,
        routing_key=original_routing_key(headers, routing_key),
        tenant_id=TenantId(tenant) if tenant else None,
        reason=headers.get(HEADER_REASON, "unknown"),
        dead_lettered_at=dead_lettered_at,
        body=body,
        headers=dict(headers),
    )


def oldest_first(records: list[DeadLetter], limit: int) -> list[DeadLetter]:
    """The ``limit`` records parked earliest (a stable sort keeps queue order for ties)."""
    return sorted(records, key=lambda record: record.dead_lettered_at)[: max(0, limit)]
