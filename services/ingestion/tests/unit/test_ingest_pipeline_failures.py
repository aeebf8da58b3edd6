"""How the ingestion pipeline classifies failures: a document it can never index fails its job
and is dead-lettered (permanent); an outage of the store, the embedder or the broker is retried
(transient); a bug is neither. Fakes: ``ingest_pipeline_harness``.
"""

from __future__ import annotations

import pytest
from ingest_pipeline_harness import (
    TENANT,
    FailingEmbedder,
    MemoryVectorStore,
    RecordingBroker,
    delivery,
    ingest_request,
)
from pydantic import ValidationError

from ragline_common.errors import (
    PermanentProcessingError,
    TransientProcessingError,
    UpstreamUnavailable,
)
from ragline_common.messages import JobStatus, JobStatusChanged
from ragline_common.ports.broker import Delivery
from ragline_ingestion.consumers.ingestion_queue import IngestionQueueConsumer


async def test_an_empty_document_fails_with_a_reason_and_is_dead_lettered(
    consumer: IngestionQueueConsumer, store: MemoryVectorStore, broker: RecordingBroker
) -> None:
    with pytest.raises(PermanentProcessingError, match="document contains no text"):
        await consumer.handle(delivery(ingest_request(b"  \n\n  ", content_type="text/plain")))
    assert broker.statuses() == [
        (JobStatus.PROCESSING, None, None),
        (JobStatus.FAILED, None, "document contains no text"),
    ]
    assert store.points == {}


async def test_an_unsupported_content_type_fails_the_job(
    consumer: IngestionQueueConsumer, broker: RecordingBroker
) -> None:
    with pytest.raises(PermanentProcessingError):
        await consumer.handle(delivery(ingest_request(b"MZ\x90\x00", content_type="image/png")))
    [(_, _, _), (status, _, reason)] = broker.statuses()
    assert status is JobStatus.FAILED
    assert reason is not None
    assert "'image/png' is not supported" in reason


@pytest.mark.parametrize(
    "failure",
    [UpstreamUnavailable("qdrant is down"), ConnectionRefusedError(111, "refused")],
    ids=["upstream-unavailable", "connection-error"],
)
async def test_vector_store_outage_is_transient_and_a_retry_succeeds(
    consumer: IngestionQueueConsumer,
    store: MemoryVectorStore,
    broker: RecordingBroker,
    failure: Exception,
) -> None:
    store.fail_with = failure
    with pytest.raises(TransientProcessingError, match="vector store unavailable"):
        await consumer.handle(delivery(ingest_request()))
    assert JobStatus.FAILED not in [status for status, _, _ in broker.statuses()]
    store.fail_with = None
    await consumer.handle(delivery(ingest_request()))
    assert broker.statuses()[-1][0] is JobStatus.INDEXED


async def test_embedder_outage_is_transient(
    consumer: IngestionQueueConsumer, embedder: FailingEmbedder, store: MemoryVectorStore
) -> None:
    embedder.fail_with = UpstreamUnavailable("model server is down")
    with pytest.raises(TransientProcessingError, match="embedder unavailable: model server"):
        await consumer.handle(delivery(ingest_request()))
    assert store.points == {}


async def test_broker_outage_while_reporting_is_transient(
    consumer: IngestionQueueConsumer, broker: RecordingBroker
) -> None:
    broker.fail_with = UpstreamUnavailable("connection lost")
    with pytest.raises(TransientProcessingError, match="broker unavailable"):
        await consumer.handle(delivery(ingest_request()))


async def test_a_bug_is_neither_transient_nor_permanent(
    consumer: IngestionQueueConsumer, embedder: FailingEmbedder
) -> None:
    # Unexpected errors are requeued by the broker and count against the delivery limit.
    embedder.fail_with = RuntimeError("bug")
    with pytest.raises(RuntimeError, match="bug"):
        await consumer.handle(delivery(ingest_request()))


async def test_invalid_messages_are_rejected_for_dead_lettering(
    consumer: IngestionQueueConsumer,
) -> None:
    with pytest.raises(ValidationError):
        await consumer.handle(
            Delivery(body=b'{"type": "document.ingest.v1"}', routing_key="x", headers={})
        )
    status = JobStatusChanged(
        tenant_id=TENANT, job_id="j", document_id="d", version=1, status=JobStatus.INDEXED
    )
    with pytest.raises(PermanentProcessingError, match="do not belong on the ingestion queue"):
        await consumer.handle(delivery(status))
