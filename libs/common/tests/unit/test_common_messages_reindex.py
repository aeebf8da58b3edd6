"""Reindex fields on the wire (issue 15): additive, so messages from before them still work.

A worker or gateway upgraded mid-flight reads messages an older producer put on the queue;
those lack the new fields and must mean what they meant (the default index, a normal job).
"""

from __future__ import annotations

import json

from ragline_common.messages import (
    SYSTEM_TENANT_ID,
    DocumentDeleteRequested,
    DocumentIngestRequested,
    IndexDropRequested,
    JobStatusChanged,
    TenantDeleteRequested,
    encode_message,
    parse_message,
)
from ragline_common.topology import BINDINGS, ROUTING_INDEX_DROP, QueueName, exchange_for

OLD_INGEST = {
    "type": "document.ingest.v1",
    "event_id": "evt_1",
    "tenant_id": "ten_a",
    "occurred_at": "2026-01-01T00:00:00Z",
    "document_id": "doc_1",
    "job_id": "job_1",
    "version": 1,
    "title": "t",
    "source_name": "t.txt",
    "content_type": "text/plain",
    "content": "aGVsbG8=",
    "content_hash": "h",
}


def test_an_old_ingest_request_targets_the_default_index() -> None:
    message = parse_message(json.dumps(OLD_INGEST))
    assert isinstance(message, DocumentIngestRequested)
    assert message.index_models == ()
    assert message.reindex_of is None


def test_old_status_and_delete_messages_keep_their_meaning() -> None:
    status = parse_message(
        json.dumps(
            {
                "type": "job.status.v1",
                "tenant_id": "ten_a",
                "job_id": "job_1",
                "document_id": "doc_1",
                "version": 1,
                "status": "indexed",
            }
        )
    )
    assert isinstance(status, JobStatusChanged)
    assert status.index_model is None
    delete = parse_message(
        json.dumps({"type": "document.delete.v1", "tenant_id": "ten_a", "document_id": "d"})
    )
    assert isinstance(delete, DocumentDeleteRequested)
    assert delete.index_models == ()
    erase = parse_message(json.dumps({"type": "tenant.delete.v1", "tenant_id": "ten_a"}))
    assert isinstance(erase, TenantDeleteRequested)
    assert erase.index_models == ()


def test_the_new_fields_survive_the_wire() -> None:
    ingest = DocumentIngestRequested.model_validate(
        {**OLD_INGEST, "index_models": ["hash", "onnx-int8"], "reindex_of": "onnx-int8"}
    )
    decoded = parse_message(encode_message(ingest))
    assert decoded == ingest
    assert isinstance(decoded, DocumentIngestRequested)
    assert decoded.index_models == ("hash", "onnx-int8")


def test_index_drop_is_a_worker_command_of_no_tenant() -> None:
    drop = IndexDropRequested(tenant_id=SYSTEM_TENANT_ID, index_model="hash")
    assert parse_message(encode_message(drop)) == drop
    assert not SYSTEM_TENANT_ID.startswith("ten_")
    exchange, keys = BINDINGS[QueueName.INGESTION]
    assert ROUTING_INDEX_DROP in keys
    assert exchange_for(ROUTING_INDEX_DROP) == exchange
