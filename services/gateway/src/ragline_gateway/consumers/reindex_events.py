"""Reindex progress from the job events queue: a task's status counts towards its reindex.

The worker reports a reindex task (ADR 0018) as a ``job.status.v1`` event with ``index_model``
set. Such an event is not about the document's own job, whose status must not move, so it is
taken off the queue's ordinary path here, before the job event handler, and counted instead
(:meth:`IndexModels.record_progress`, which may switch reads). A finished task frees a slot in
its tenant's dispatch window, as a finished job does. Every other delivery goes on unchanged.
The peek decodes the body's JSON once more; an undecodable body goes on to the job event
handler, whose refusal is the one the operator sees.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

import structlog

from ragline_common.consuming import MessageConsumer, route
from ragline_common.messages import JobStatusChanged
from ragline_common.ports.broker import Delivery
from ragline_common.topology import QueueName
from ragline_gateway.domain.dispatch import JobDispatcher
from ragline_gateway.domain.reindex import IndexModels

_log = structlog.get_logger(__name__)


def _is_reindex_status(body: bytes) -> bool:
    try:
        decoded = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return False
    return (
        isinstance(decoded, dict)
        and decoded.get("type") == "job.status.v1"
        and isinstance(decoded.get("index_model"), str)
    )


class ReindexProgressHandler:
    """Wraps the job events handler: reindex statuses here, every other delivery there."""

    def __init__(
        self,
        job_events: Callable[[Delivery], Awaitable[None]],
        indexes: IndexModels,
        dispatcher: JobDispatcher,
    ) -> None:
        self._job_events = job_events
        self._indexes = indexes
        self._dispatcher = dispatcher
        self._consume = MessageConsumer(
            QueueName.JOB_EVENTS, [route(JobStatusChanged, self._apply)]
        )

    async def __call__(self, delivery: Delivery) -> None:
        if _is_reindex_status(delivery.body):
            await self._consume(delivery)
        else:
            await self._job_events(delivery)

    async def _apply(self, message: JobStatusChanged) -> None:
        changed = await self._indexes.record_progress(message)
        _log.info(
            "reindex_status_applied",
            tenant_id=message.tenant_id,
            task_id=message.job_id,
            index_model=message.index_model,
            status=message.status,
            changed=changed,
        )
        if message.status.is_terminal:
            await self._dispatcher.dispatch(message.tenant_id)
