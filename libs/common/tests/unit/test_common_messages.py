from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from ragline_common.messages import (
    DocumentIngestRequested,
    JobStatus,
    JobStatusChanged,
    encode_message,
    parse_message,
)
from ragline_common.tenancy import TenantId


def _ingest(content: bytes) -> DocumentIngestRequested:
    return DocumentIngestRequested(
        tenant_id=TenantId("ten_a"),
        document_id="doc_1",
        job_id="job_1",
        version=2,
        title="T",
        source_name="t.txt",
        content_type="text/plain",
        content=content,
        content_hash="abc",
        metadata={"k": [1, "x"]},
    )


def test_bytes_round_trip_through_json_as_base64() -> None:
    raw = bytes(range(256))
    wire = encode_message(_ingest(raw))
    assert isinstance(json.loads(wire)["content"], str)
    decoded = parse_message(wire)
    assert isinstance(decoded, DocumentIngestRequested)
    assert decoded.content == raw
    assert decoded == _ingest(raw).model_copy(
        update={"event_id": decoded.event_id, "occurred_at": decoded.occurred_at}
    )


def test_readers_tolerate_added_fields_but_not_unknown_types() -> None:
    event = JobStatusChanged(
        tenant_id=TenantId("t"), job_id="j", document_id="d", version=1, status=JobStatus.INDEXED
    )
    data = json.loads(encode_message(event))
    data["added_in_a_later_release"] = True
    assert parse_message(json.dumps(data)) == event
    data["type"] = "job.status.v9"
    with pytest.raises(ValidationError):
        parse_message(json.dumps(data))


def test_envelopes_are_frozen_and_validated() -> None:
    message = _ingest(b"x")
    with pytest.raises(ValidationError):
        message.version = 3  # type: ignore[misc]
    with pytest.raises(ValidationError):
        _ingest(b"x").model_validate({**_ingest(b"x").model_dump(), "version": 0})


def test_terminal_statuses() -> None:
    assert JobStatus.INDEXED.is_terminal and JobStatus.FAILED.is_terminal
    assert not JobStatus.QUEUED.is_terminal and not JobStatus.PROCESSING.is_terminal
