"""Applying the worker's job status events to the catalog the gateway owns."""

from __future__ import annotations

import structlog

from ragline_common.messages import JobStatusChanged, parse_message
from ragline_common.ports.broker import Delivery
from ragline_common.ports.catalog import Catalog

_log = structlog.get_logger(__name__)


class JobEventHandler:
    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog

    async def __call__(self, delivery: Delivery) -> None:
        message = parse_message(delivery.body)
        if not isinstance(message, JobStatusChanged):
            _log.warning("job_event_ignored", type=message.type)
            return
        changed = await self._catalog.apply_job_status(
            message.tenant_id,
            message.job_id,
            message.status,
            chunk_count=message.chunk_count,
            reason=message.reason,
        )
        _log.info(
            "job_status_applied",
            tenant_id=message.tenant_id,
            job_id=message.job_id,
            status=message.status,
            changed=changed,
        )
