"""Re-publishing jobs that were recorded but never confirmed by the broker.

With the in-process broker nothing survives a restart, so at start-up every unfinished job is
published again from the content kept in the catalog. With RabbitMQ, queued messages survive;
only jobs never marked published (a crash between commit and publish) are swept, after a grace
period so an upload still in flight is not doubled.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import structlog

from ragline_common.errors import UpstreamUnavailable
from ragline_common.ports.broker import Broker
from ragline_common.ports.catalog import Catalog
from ragline_gateway.domain.uploads import publish_job

_log = structlog.get_logger(__name__)
_BATCH = 200


async def republish_unfinished(
    catalog: Catalog, broker: Broker, *, only_unpublished: bool, older_than_s: float
) -> int:
    """Publish unfinished jobs again; returns how many were published."""
    cutoff = datetime.now(UTC) - timedelta(seconds=older_than_s)
    published = 0
    offset = 0
    while True:
        jobs = await catalog.unfinished_jobs(
            published=False if only_unpublished else None, limit=_BATCH, offset=offset
        )
        # Published jobs leave the "unpublished" set; otherwise the set is stable: page on.
        offset += 0 if only_unpublished else len(jobs)
        due = [job for job in jobs if job.created_at <= cutoff]
        published_before = published
        for job in due:
            document = await catalog.get_document(job.tenant_id, job.document_id)
            content = await catalog.get_document_content(
                job.tenant_id, job.document_id, job.version
            )
            if document is None or content is None:
                continue
            try:
                await publish_job(broker, catalog, document, job, content)
            except UpstreamUnavailable:
                _log.warning("republish_deferred", job_id=job.id)
                return published
            published += 1
        if len(jobs) < _BATCH or (only_unpublished and published == published_before):
            break
    if published:
        _log.info("jobs_republished", count=published)
    return published
