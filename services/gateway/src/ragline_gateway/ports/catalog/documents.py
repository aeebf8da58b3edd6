"""The documents role of the catalog: uploads, their versions, contents and jobs, and erasures.

A document is recorded with its content and a job in one transaction; searches show only the
version :meth:`DocumentStore.active_versions` names, and a deleted document stays pending
erasure (:class:`PendingErasures`) until the broker confirmed the request to erase its chunks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from pydantic import JsonValue

from ragline_common.messages import JobStatus
from ragline_common.tenancy import TenantId
from ragline_gateway.ports.catalog.jobs import JobRecord, TraceContext


@dataclass(frozen=True)
class DocumentDraft:
    """What the gateway knows of an upload before it is stored."""

    title: str
    source_name: str
    content_type: str
    content_hash: str
    size_bytes: int
    metadata: dict[str, JsonValue]
    external_id: str | None = None


@dataclass(frozen=True)
class DocumentRecord:
    id: str
    tenant_id: TenantId
    external_id: str | None
    title: str
    source_name: str
    content_type: str
    content_hash: str
    size_bytes: int
    version: int
    metadata: dict[str, JsonValue]
    status: JobStatus
    chunk_count: int | None
    created_at: datetime
    updated_at: datetime
    indexed_version: int | None
    """The version searches may show (the newest indexed); None until one is indexed."""


@dataclass(frozen=True)
class Submission:
    """Result of registering an upload: the job to publish, or the existing one for a repeat."""

    document: DocumentRecord
    job: JobRecord
    created: bool


@dataclass(frozen=True)
class StorageUsage:
    """What a tenant keeps now: live documents and the bytes of their current versions."""

    documents: int
    stored_bytes: int


class DocumentStore(Protocol):
    async def submit_document(
        self,
        tenant_id: TenantId,
        draft: DocumentDraft,
        content: bytes,
        *,
        trace: TraceContext | None = None,
    ) -> Submission:
        """Record a new document (or new version under the same external id) and its job.

        ``trace`` is stored with a new job, so a later publish joins the upload's trace.

        Identical content under the same external id is not re-indexed: the existing document
        and its latest job come back with ``created=False`` (see
        :func:`ragline_gateway.domain.uploads.plan_submission`).
        """

    async def get_document(
        self, tenant_id: TenantId, document_id: str
    ) -> DocumentRecord | None: ...

    async def find_document_by_external_id(
        self, tenant_id: TenantId, external_id: str
    ) -> DocumentRecord | None: ...

    async def list_documents(
        self, tenant_id: TenantId, *, limit: int, offset: int
    ) -> list[DocumentRecord]: ...

    async def get_document_content(
        self, tenant_id: TenantId, document_id: str, version: int
    ) -> bytes | None: ...

    async def get_document_to_send(
        self, tenant_id: TenantId, document_id: str, version: int
    ) -> tuple[DocumentRecord, bytes] | None:
        """The live document with ``version``'s content, in one read; ``None`` if either is
        gone (deleted meanwhile)."""

    async def delete_document(self, tenant_id: TenantId, document_id: str) -> bool:
        """Tombstone the document: it disappears from reads, its stored contents are dropped,
        its unfinished jobs fail, and its external id is free again. False if not found.

        The erasure of its chunks is pending until
        :meth:`PendingErasures.mark_erasure_requested`."""

    async def active_versions(
        self, tenant_id: TenantId, document_ids: Sequence[str]
    ) -> dict[str, int]:
        """The version searches may show, for each of ``document_ids`` that has one."""

    async def storage_usage(self, tenant_id: TenantId) -> StorageUsage: ...

    async def get_job(self, tenant_id: TenantId, job_id: str) -> JobRecord | None: ...

    async def list_jobs(self, tenant_id: TenantId, document_id: str) -> list[JobRecord]: ...


class PendingErasures(Protocol):
    """Deleted documents whose chunks the worker was not yet (confirmed to be) asked to erase."""

    async def mark_erasure_requested(self, tenant_id: TenantId, document_id: str) -> None:
        """The broker confirmed the request to erase the deleted document's chunks."""

    async def documents_pending_erasure(self, *, limit: int) -> list[tuple[TenantId, str]]:
        """Deleted documents (tenant, id) of every tenant whose erasure request was never
        confirmed, longest deleted first: the sweeper sends their requests again."""
