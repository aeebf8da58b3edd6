"""The ingestion pipeline indexes a document and reports its job; versions, reprocessing and
deletes keep to their document and tenant. Fakes: ``ingest_pipeline_harness``.
"""

from __future__ import annotations

from ingest_pipeline_harness import (
    MARKDOWN,
    OTHER_TENANT,
    TENANT,
    MemoryVectorStore,
    RecordingBroker,
    delivery,
    ingest_request,
)

from ragline_common.ids import chunk_point_id
from ragline_common.indexing.word_sets import word_sketch
from ragline_common.messages import DocumentDeleteRequested, JobStatus
from ragline_common.topology import ROUTING_JOB_STATUS
from ragline_ingestion.consumers.ingestion_queue import IngestionQueueConsumer


async def test_a_document_is_indexed_and_its_job_reported(
    consumer: IngestionQueueConsumer, store: MemoryVectorStore, broker: RecordingBroker
) -> None:
    request = ingest_request()
    await consumer.handle(delivery(request))

    points = store.of(TENANT, "doc_1")
    assert len(points) >= 2
    assert broker.statuses() == [
        (JobStatus.PROCESSING, None, None),
        (JobStatus.INDEXED, len(points), None),
    ]
    assert all(routing_key == ROUTING_JOB_STATUS for _, routing_key, _ in broker.published)
    for index, point in enumerate(points):
        assert point.id == chunk_point_id(TENANT, "doc_1", 1, index)
        assert point.payload.chunk_index == index
        assert point.payload.metadata == {"team": "birds", "year": 2024}
        assert (point.payload.title, point.payload.source_name) == ("Ducks", "ducks.md")
        assert len(point.dense) == 64
        assert point.payload.word_sketch == word_sketch(point.payload.text)
    paths = {point.payload.heading_path for point in points}
    assert paths == {("Ducks",), ("Ducks", "Food")}
    food = next(p for p in points if p.payload.heading_path == ("Ducks", "Food"))
    assert food.payload.text.startswith("Food\n\nDucks eat leaves")


async def test_chunks_are_written_in_batches(
    consumer: IngestionQueueConsumer, store: MemoryVectorStore
) -> None:
    text = " ".join(f"Sentence number {i} is here." for i in range(40)).encode()
    await consumer.handle(delivery(ingest_request(text, content_type="text/plain")))
    chunk_count = len(store.of(TENANT, "doc_1"))
    assert chunk_count >= 5
    assert store.upserts == (chunk_count + 1) // 2  # upsert_batch_size=2


async def test_a_new_version_is_added_and_the_old_one_goes_on_the_prune_command(
    consumer: IngestionQueueConsumer, store: MemoryVectorStore
) -> None:
    await consumer.handle(delivery(ingest_request(MARKDOWN, version=1)))
    await consumer.handle(delivery(ingest_request(b"# Geese\n\nGeese honk loudly.", version=2)))
    # Both versions until the gateway has switched readers over and asks for the prune.
    assert {point.payload.version for point in store.of(TENANT, "doc_1")} == {1, 2}
    prune = DocumentDeleteRequested(tenant_id=TENANT, document_id="doc_1", keep_version=2)
    await consumer.handle(delivery(prune))
    points = store.of(TENANT, "doc_1")
    assert {point.payload.version for point in points} == {2}
    assert [point.payload.text for point in points] == ["Geese\n\nGeese honk loudly."]


async def test_a_late_old_version_never_replaces_a_newer_one(
    consumer: IngestionQueueConsumer, store: MemoryVectorStore, broker: RecordingBroker
) -> None:
    await consumer.handle(delivery(ingest_request(b"# Geese\n\nGeese honk.", version=2)))
    before = dict(store.points)
    await consumer.handle(delivery(ingest_request(MARKDOWN, version=1)))  # a delayed retry
    assert store.points == before
    assert broker.statuses()[-1] == (
        JobStatus.FAILED,
        None,
        "superseded by version 2 of the document",
    )


async def test_processing_the_same_message_twice_yields_the_same_points(
    consumer: IngestionQueueConsumer, store: MemoryVectorStore
) -> None:
    request = ingest_request()
    await consumer.handle(delivery(request))
    first = dict(store.points)
    await consumer.handle(delivery(request))
    assert store.points == first


async def test_tenants_with_the_same_document_id_do_not_touch_each_other(
    consumer: IngestionQueueConsumer, store: MemoryVectorStore
) -> None:
    await consumer.handle(delivery(ingest_request(tenant_id=TENANT)))
    await consumer.handle(delivery(ingest_request(tenant_id=OTHER_TENANT)))
    mine, theirs = store.of(TENANT, "doc_1"), store.of(OTHER_TENANT, "doc_1")
    assert mine
    assert len(mine) == len(theirs)
    assert not {p.id for p in mine} & {p.id for p in theirs}
    await consumer.handle(delivery(DocumentDeleteRequested(tenant_id=TENANT, document_id="doc_1")))
    assert store.of(TENANT, "doc_1") == []
    assert store.of(OTHER_TENANT, "doc_1") == theirs


async def test_delete_removes_every_version_of_the_document_only(
    consumer: IngestionQueueConsumer, store: MemoryVectorStore
) -> None:
    await consumer.handle(delivery(ingest_request(document_id="doc_1")))
    await consumer.handle(delivery(ingest_request(document_id="doc_2")))
    await consumer.handle(delivery(DocumentDeleteRequested(tenant_id=TENANT, document_id="doc_1")))
    assert store.of(TENANT, "doc_1") == []
    assert store.of(TENANT, "doc_2")
