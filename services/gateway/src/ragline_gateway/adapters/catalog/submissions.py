"""Recording an upload: the document (new, or a new version under its external id), its content
and its job, in the caller's transaction.

Whether an upload under a known external id is a duplicate is the domain's rule
(:func:`~ragline_gateway.domain.uploads.is_duplicate`); this module reads what it needs and
writes what it decides. The document row under the external id is locked while deciding, so two
uploads of the same id cannot both make version 2 (SQLite serialises writers instead).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import RowMapping, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ragline_common.ids import new_id
from ragline_common.messages import JobStatus
from ragline_common.tenancy import TenantId
from ragline_gateway.adapters.catalog.connections import first, now, one, require_tenant
from ragline_gateway.adapters.catalog.rows import document_record, job_record
from ragline_gateway.adapters.catalog.tables import document_blobs, documents, jobs
from ragline_gateway.domain.uploads import is_duplicate
from ragline_gateway.ports.catalog import DocumentDraft, Submission, TraceContext


async def record_submission(
    connection: AsyncConnection,
    tenant_id: TenantId,
    draft: DocumentDraft,
    content: bytes,
    trace: TraceContext | None,
) -> Submission:
    await require_tenant(connection, tenant_id)
    existing = await _under_external_id(connection, tenant_id, draft.external_id)
    stamp = now()
    fields: dict[str, Any] = {
        "title": draft.title,
        "source_name": draft.source_name,
        "content_type": draft.content_type,
        "content_hash": draft.content_hash,
        "size_bytes": draft.size_bytes,
        "metadata": draft.metadata,
        "status": JobStatus.QUEUED.value,
        "chunk_count": None,
        "updated_at": stamp,
    }
    if existing is None:
        document = await one(
            connection,
            insert(documents)
            .values(
                id=new_id("doc"),
                tenant_id=tenant_id,
                external_id=draft.external_id,
                version=1,
                created_at=stamp,
                **fields,
            )
            .returning(documents),
        )
    else:
        latest_job = job_record(
            await one(
                connection,
                select(jobs)
                .where(jobs.c.document_id == existing["id"])
                .order_by(jobs.c.version.desc())
                .limit(1),
            )
        )
        if is_duplicate(draft, document_record(existing), latest_job):
            return Submission(document=document_record(existing), job=latest_job, created=False)
        document = await one(
            connection,
            update(documents)
            .where(documents.c.id == existing["id"])
            .values(version=existing["version"] + 1, **fields)
            .returning(documents),
        )
    await connection.execute(
        insert(document_blobs).values(
            document_id=document["id"],
            version=document["version"],
            tenant_id=tenant_id,
            content=content,
            created_at=stamp,
        )
    )
    job = await one(
        connection,
        insert(jobs)
        .values(
            id=new_id("job"),
            tenant_id=tenant_id,
            document_id=document["id"],
            version=document["version"],
            status=JobStatus.QUEUED.value,
            reason=None,
            chunk_count=None,
            published=False,
            created_at=stamp,
            updated_at=stamp,
            traceparent=trace.traceparent if trace else None,
            tracestate=trace.tracestate if trace else None,
        )
        .returning(jobs),
    )
    return Submission(document=document_record(document), job=job_record(job), created=True)


async def _under_external_id(
    connection: AsyncConnection, tenant_id: TenantId, external_id: str | None
) -> RowMapping | None:
    """The tenant's document under ``external_id``, locked until commit; a deleted document
    gave its external id up, so only a live one is found."""
    if external_id is None:
        return None
    return await first(
        connection,
        select(documents)
        .where(documents.c.tenant_id == tenant_id, documents.c.external_id == external_id)
        .with_for_update(),
    )
