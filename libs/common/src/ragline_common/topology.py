"""The broker topology, declared in one place for every adapter.

Commands (work to do) and events (facts that happened) go through separate topic exchanges;
each consuming service owns one durable queue bound by routing key. See ADR 0004.
"""

from __future__ import annotations

from enum import StrEnum

COMMANDS_EXCHANGE = "ragline.commands"
EVENTS_EXCHANGE = "ragline.events"
DEAD_LETTER_EXCHANGE = "ragline.dead-letter"
INTAKE_EXCHANGE = "ragline.intake"

INTAKE_API_KEY_HEADER = "x-ragline-api-key"
"""Where a queue-drop producer puts its tenant API key (public contract, docs/queue-contract.md)."""
CREDENTIAL_HEADERS = frozenset({INTAKE_API_KEY_HEADER, "authorization"})
"""Headers never copied into a dead letter: parked messages must not keep secrets at rest."""

ROUTING_INGEST = "document.ingest.v1"
ROUTING_DELETE = "document.delete.v1"
ROUTING_TENANT_DELETE = "tenant.delete.v1"
ROUTING_JOB_STATUS = "job.status.v1"
ROUTING_INDEX_DROP = "index.drop.v1"

_COMMAND_ROUTING_KEYS = (ROUTING_INGEST, ROUTING_DELETE, ROUTING_TENANT_DELETE, ROUTING_INDEX_DROP)

# Growing delays for transient retries; past the last tier the last delay repeats.
RETRY_DELAYS_S: tuple[float, ...] = (1.0, 5.0, 30.0, 120.0)
# Redeliveries allowed (after crashes or unexpected errors) before a message is dead-lettered:
# RabbitMQ parks it on delivery DELIVERY_LIMIT + 1, and the in-process broker does the same.
DELIVERY_LIMIT = 5


class QueueName(StrEnum):
    INGESTION = "ragline.ingestion"
    JOB_EVENTS = "ragline.gateway.job-events"
    INTAKE = "ragline.intake"
    DEAD_LETTERS = "ragline.dead-letters"
    DEAD_LETTER_EVENTS = "ragline.gateway.dead-letter-events"
    """A copy of every dead letter for the gateway, which fails the jobs they carried."""


# queue -> (exchange, routing keys bound)
BINDINGS: dict[QueueName, tuple[str, tuple[str, ...]]] = {
    QueueName.INGESTION: (COMMANDS_EXCHANGE, _COMMAND_ROUTING_KEYS),
    QueueName.JOB_EVENTS: (EVENTS_EXCHANGE, (ROUTING_JOB_STATUS,)),
    QueueName.INTAKE: (INTAKE_EXCHANGE, ("#",)),
    QueueName.DEAD_LETTERS: (DEAD_LETTER_EXCHANGE, ("#",)),
    QueueName.DEAD_LETTER_EVENTS: (DEAD_LETTER_EXCHANGE, ("#",)),
}

PARKING_QUEUES = frozenset({QueueName.DEAD_LETTERS, QueueName.DEAD_LETTER_EVENTS})
"""Queues fed by the dead-letter exchange: they must never dead-letter themselves (a loop)."""


def exchange_for(routing_key: str) -> str:
    """Which exchange a routing key is published to."""
    if routing_key in _COMMAND_ROUTING_KEYS:
        return COMMANDS_EXCHANGE
    if routing_key == ROUTING_JOB_STATUS:
        return EVENTS_EXCHANGE
    raise ValueError(f"no exchange for routing key {routing_key!r}")


def retry_queue_name(queue: QueueName, delay_s: float) -> str:
    """Name of the delay queue that returns messages to ``queue`` after ``delay_s``."""
    return f"{queue.value}.retry.{int(delay_s)}s"
