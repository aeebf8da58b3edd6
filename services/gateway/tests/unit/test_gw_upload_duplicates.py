"""The duplicate rule of uploads under an external id, on its own (no catalog, no database)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ragline_common.messages import JobStatus
from ragline_common.tenancy import TenantId
from ragline_gateway.domain.uploads import is_duplicate
from ragline_gateway.ports.catalog import DocumentDraft, DocumentRecord, JobRecord

TENANT = TenantId("ten_a")
WHEN = datetime(2025, 1, 1, tzinfo=UTC)


def _draft(content_hash: str) -> DocumentDraft:
    return DocumentDraft(
        title="Ducks",
        source_name="ducks.txt",
        content_type="text/plain",
        content_hash=content_hash,
        size_bytes=5,
        metadata={},
        external_id="ducks",
    )


def _stored(content_hash: str, latest: JobStatus) -> tuple[DocumentRecord, JobRecord]:
    document = DocumentRecord(
        id="doc_1",
        tenant_id=TENANT,
        external_id="ducks",
        title="Ducks",
        source_name="ducks.txt",
        content_type="text/plain",
        content_hash=content_hash,
        size_bytes=5,
        version=2,
        metadata={},
        status=latest,
        chunk_count=None,
        created_at=WHEN,
        updated_at=WHEN,
        indexed_version=1,
    )
    job = JobRecord(
        id="job_2",
        tenant_id=TENANT,
        document_id="doc_1",
        version=2,
        status=latest,
        reason=None,
        chunk_count=None,
        published=True,
        created_at=WHEN,
        updated_at=WHEN,
    )
    return document, job


@pytest.mark.parametrize(
    "latest", [JobStatus.QUEUED, JobStatus.PROCESSING, JobStatus.INDEXED], ids=str
)
def test_the_same_content_not_failed_is_a_duplicate(latest: JobStatus) -> None:
    assert is_duplicate(_draft("aaa"), *_stored("aaa", latest)) is True


def test_the_same_content_whose_latest_job_failed_is_tried_again() -> None:
    assert is_duplicate(_draft("aaa"), *_stored("aaa", JobStatus.FAILED)) is False


@pytest.mark.parametrize("latest", list(JobStatus), ids=str)
def test_changed_content_is_never_a_duplicate(latest: JobStatus) -> None:
    assert is_duplicate(_draft("bbb"), *_stored("aaa", latest)) is False
