"""What the ingestion pipeline reports about its work: its spans join the producer's trace, and
the embedding tokens it spends are billed to the tenant whose document they embedded.
Fakes: ``ingest_pipeline_harness``.
"""

from __future__ import annotations

import asyncio

import pytest
from ingest_pipeline_harness import (
    OTHER_TENANT,
    TENANT,
    FailingEmbedder,
    MemoryVectorStore,
    RecordingBroker,
    delivery,
    ingest_request,
)

from ragline_common.adapters.embedder import HashEmbedder
from ragline_common.adapters.embedder.batching import BatchingEmbedder
from ragline_common.messages import JobStatus, JobStatusChanged
from ragline_common.observability import messaging
from ragline_common.observability.metrics import REGISTRY
from ragline_common.tenancy import TenantId
from ragline_common.topology import QueueName
from ragline_ingestion.consumers.ingestion_queue import IngestionQueueConsumer
from ragline_ingestion.domain import pipeline as pipeline_module
from ragline_ingestion.domain.parsing import default_parsers
from ragline_ingestion.domain.pipeline import IngestionPipeline
from ragline_ingestion.settings import IngestionSettings
from ragline_testing.embedding_server import FakeEmbeddingServer, remote_embedder
from ragline_testing.harness import recording_spans


async def test_spans_join_the_producers_trace_and_status_events_carry_it_on(
    consumer: IngestionQueueConsumer, broker: RecordingBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    trace_id = "0af7651916cd43dd8448eb211c80319c"
    headers = {"traceparent": f"00-{trace_id}-b7ad6b7169203331-01"}

    with recording_spans(monkeypatch, pipeline_module, messaging) as recorder:
        await consumer.handle(delivery(ingest_request(), headers))
        spans = recorder.exporter.get_finished_spans()
    names = {span.name for span in spans}
    assert {"ingest.parse", "ingest.chunk", "ingest.embed", "ingest.upsert"} <= names
    assert f"{QueueName.INGESTION.value} process" in names
    assert {format(span.context.trace_id, "032x") for span in spans} == {trace_id}
    for _, _, published_headers in broker.published:
        assert trace_id in published_headers["traceparent"]


def _embedding_tokens(model: str, tenant: TenantId) -> float:
    value = REGISTRY.get_sample_value(
        "ragline_embedding_tokens_total", {"model": model, "tenant": tenant}
    )
    return value or 0.0


async def test_a_local_model_bills_the_tenant_its_chunks_tokens(
    consumer: IngestionQueueConsumer, store: MemoryVectorStore, embedder: FailingEmbedder
) -> None:
    before = _embedding_tokens(embedder.model_id, TENANT)
    other_before = _embedding_tokens(embedder.model_id, OTHER_TENANT)

    await consumer.handle(delivery(ingest_request()))

    texts = [point.payload.text for point in store.of(TENANT, "doc_1")]
    expected = sum(embedder.count_tokens(text) for text in texts)
    assert expected > 0
    assert _embedding_tokens(embedder.model_id, TENANT) - before == expected
    assert _embedding_tokens(embedder.model_id, OTHER_TENANT) == other_before


async def test_the_indexed_event_reports_the_tokens_for_the_usage_ledger(
    consumer: IngestionQueueConsumer,
    store: MemoryVectorStore,
    embedder: FailingEmbedder,
    broker: RecordingBroker,
) -> None:
    await consumer.handle(delivery(ingest_request()))

    statuses = [m for m, _, _ in broker.published if isinstance(m, JobStatusChanged)]
    assert [m.status for m in statuses] == [JobStatus.PROCESSING, JobStatus.INDEXED]
    texts = [point.payload.text for point in store.of(TENANT, "doc_1")]
    expected = sum(embedder.count_tokens(text) for text in texts)
    assert (statuses[1].embedding_tokens, statuses[1].embedding_model) == (
        expected,
        embedder.model_id,
    )
    assert (statuses[0].embedding_tokens, statuses[0].embedding_model) == (None, None)


async def test_a_providers_reported_tokens_are_billed_to_the_tenants_that_shared_a_batch(
    store: MemoryVectorStore, broker: RecordingBroker
) -> None:
    server = FakeEmbeddingServer(HashEmbedder(64), model="remote-billing")
    async with remote_embedder(server) as remote:
        batching = BatchingEmbedder(remote, batch_size=64, max_wait_s=2.0)
        pipeline = IngestionPipeline(
            settings=IngestionSettings(max_chunk_tokens=32, chunk_overlap_tokens=4),
            parsers=default_parsers(),
            embedder=batching,
            vector_store=store,
            broker=broker,
        )
        consumer = IngestionQueueConsumer(pipeline)
        server.reported_tokens = 0  # the warm-up probe is nobody's document
        small = ingest_request(b"Geese honk.", content_type="text/plain", tenant_id=OTHER_TENANT)
        await asyncio.gather(
            consumer.handle(delivery(ingest_request())), consumer.handle(delivery(small))
        )

    assert len(server.requests) == 2, "the probe, then one batch for both documents"
    billed = {
        tenant: _embedding_tokens("remote-billing", tenant) for tenant in (TENANT, OTHER_TENANT)
    }
    assert sum(billed.values()) == server.reported_tokens > 0
    assert billed[TENANT] > billed[OTHER_TENANT] > 0
