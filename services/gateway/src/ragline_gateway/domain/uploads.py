"""Accepting a document: record it durably in the catalog, then hand it to the dispatcher.

The catalog row and the stored content are the durable record; ``202`` means they are
committed. The dispatcher publishes the job now if the tenant's window has room, otherwise as
soon as it has (see :mod:`ragline_gateway.domain.dispatch`).
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

import structlog

from ragline_common.errors import UpstreamUnavailable
from ragline_common.messages import DocumentDeleteRequested, JobStatus
from ragline_common.observability.metrics import JOBS
from ragline_common.observability.tracing import inject_context
from ragline_common.ports.broker import Broker
from ragline_common.tenancy import TenantId
from ragline_common.topology import ROUTING_DELETE
from ragline_gateway.domain.job_trace import current_trace
from ragline_gateway.ports.catalog import (
    DocumentDraft,
    DocumentRecord,
    DocumentStore,
    JobRecord,
    PendingErasures,
    Submission,
)

if TYPE_CHECKING:
    from ragline_gateway.domain.dispatch import JobDispatcher

_log = structlog.get_logger(__name__)


def content_hash(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def is_duplicate(draft: DocumentDraft, existing: DocumentRecord, latest_job: JobRecord) -> bool:
    """Whether an upload under an external id repeats what the catalog holds there, so that it
    is acknowledged with the existing document and job instead of indexed again.

    ``latest_job`` is the job of ``existing``'s newest version. Changed content is a new
    version. The same content is a duplicate unless its latest job failed: uploading content
    that failed before is a request to try again, as a new version (a job per version).
    """
    return existing.content_hash == draft.content_hash and latest_job.status is not JobStatus.FAILED


async def submit_upload(
    catalog: DocumentStore,
    dispatcher: JobDispatcher,
    tenant_id: TenantId,
    draft: DocumentDraft,
    content: bytes,
) -> Submission:
    submission = await catalog.submit_document(tenant_id, draft, content, trace=current_trace())
    if not submission.created:
        _log.info("upload_duplicate", document_id=submission.document.id)
        return submission
    JOBS.labels(JobStatus.QUEUED.value).inc()
    await dispatcher.dispatch(tenant_id)
    _log.info(
        "upload_accepted",
        document_id=submission.document.id,
        job_id=submission.job.id,
        version=submission.job.version,
        size_bytes=draft.size_bytes,
    )
    return submission


async def request_chunk_deletion(
    catalog: PendingErasures,
    broker: Broker,
    tenant_id: TenantId,
    document_id: str,
    *,
    index_models: tuple[str, ...] = (),
) -> bool:
    """Ask the worker to delete every chunk of a document the catalog already tombstoned;
    whether the broker confirmed the request.

    If the broker is down the chunks stay, invisible to every search (hits are filtered by the
    catalog), and the document stays pending erasure in the catalog: the gateway's sweeper sends
    the request again (:mod:`~ragline_gateway.domain.chunk_erasure`). A confirmed request is
    recorded; if even that cannot be, the sweeper sends it once more, which is harmless.
    """
    try:
        await broker.publish(
            DocumentDeleteRequested(
                tenant_id=tenant_id, document_id=document_id, index_models=index_models
            ),
            routing_key=ROUTING_DELETE,
            headers=inject_context(),
        )
    except UpstreamUnavailable:
        _log.warning("document_delete_deferred", document_id=document_id)
        return False
    try:
        await catalog.mark_erasure_requested(tenant_id, document_id)
    except UpstreamUnavailable:
        _log.warning("document_delete_unrecorded", document_id=document_id)
    return True
