"""The worker with more than one model index (issue 15, reindexing without downtime).

Two stand-in models: the default ``hash`` (64 dimensions) and ``onnx-int8`` (a 32-dimension
hash embedder, so its vectors are told apart by length). Each index has its own in-memory
store; the fake ``Indexes`` opens them on demand, as the process's ``EmbeddingIndexes`` does.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from ingest_pipeline_harness import (
    TENANT,
    MemoryVectorStore,
    RecordingBroker,
    delivery,
    ingest_request,
)

from ragline_common.adapters.embedder import HashEmbedder
from ragline_common.errors import PermanentProcessingError
from ragline_common.indexing.indexes import EmbeddingIndex, index_key
from ragline_common.indexing.model_spec import ModelSpec
from ragline_common.messages import (
    SYSTEM_TENANT_ID,
    DocumentDeleteRequested,
    DocumentIngestRequested,
    IndexDropRequested,
    JobStatus,
    JobStatusChanged,
    TenantDeleteRequested,
)
from ragline_ingestion.consumers.ingestion_queue import IngestionQueueConsumer
from ragline_ingestion.domain.bulk_loads import IdleBulkLoads
from ragline_ingestion.domain.parsing import default_parsers
from ragline_ingestion.domain.pipeline import IngestionPipeline
from ragline_ingestion.settings import IngestionSettings

DEFAULT = ModelSpec.parse("hash")
NEW = ModelSpec.parse("onnx-int8")


class FakeIndexes:
    """Opens a stand-in index per spec once; ``torch`` is the same collection as ``onnx-int8``."""

    def __init__(self) -> None:
        self.open: dict[str, EmbeddingIndex] = {}
        self.dropped: list[str] = []

    async def index(self, spec: ModelSpec | None = None) -> EmbeddingIndex:
        wanted = spec or DEFAULT
        name = "onnx-int8" if wanted.kind == "torch" else str(wanted)
        if name not in self.open:
            embedder = HashEmbedder(64 if name == "hash" else 32)
            store = MemoryVectorStore()
            self.open[name] = EmbeddingIndex(wanted, embedder, store, index_key(embedder))
        return self.open[name]

    async def drop(self, spec: ModelSpec) -> None:
        index = await self.index(spec)
        await index.store.drop()
        self.dropped.append(str(spec))
        del self.open[str(spec)]

    async def store(self, spec: ModelSpec | None = None) -> MemoryVectorStore:
        store = (await self.index(spec)).store
        assert isinstance(store, MemoryVectorStore)
        return store


@pytest.fixture
def indexes() -> FakeIndexes:
    return FakeIndexes()


@pytest.fixture
def broker() -> RecordingBroker:
    return RecordingBroker()


@pytest.fixture
def wrapped() -> list[str]:
    """Model ids of the embedders the pipeline wrapped (the component wraps in a batcher)."""
    return []


@pytest.fixture
async def bulk_loads() -> AsyncIterator[IdleBulkLoads]:
    async with IdleBulkLoads() as loads:
        yield loads


@pytest.fixture
async def consumer(
    indexes: FakeIndexes,
    broker: RecordingBroker,
    wrapped: list[str],
    bulk_loads: IdleBulkLoads,
) -> IngestionQueueConsumer:
    default = await indexes.index()

    def wrap(embedder: HashEmbedder) -> HashEmbedder:
        wrapped.append(embedder.model_id)
        return embedder

    pipeline = IngestionPipeline(
        settings=IngestionSettings(max_chunk_tokens=32, chunk_overlap_tokens=4),
        parsers=default_parsers(),
        embedder=default.embedder,
        vector_store=default.store,
        broker=broker,
        indexes=indexes,
        wrap_embedder=wrap,  # type: ignore[arg-type]
        bulk_loads=bulk_loads,
    )
    return IngestionQueueConsumer(pipeline)


def statuses(broker: RecordingBroker) -> list[JobStatusChanged]:
    return [m for m, _, _ in broker.published if isinstance(m, JobStatusChanged)]


def dimensions(store: MemoryVectorStore) -> set[int]:
    return {len(point.dense) for point in store.points.values()}


async def test_an_old_message_writes_only_the_default_index(
    consumer: IngestionQueueConsumer, indexes: FakeIndexes
) -> None:
    await consumer.handle(delivery(ingest_request()))
    assert await (await indexes.store()).count(TENANT) > 0
    assert list(indexes.open) == ["hash"]  # no other model was opened


async def test_one_job_writes_both_indexes_with_the_same_chunks(
    consumer: IngestionQueueConsumer,
    indexes: FakeIndexes,
    broker: RecordingBroker,
    wrapped: list[str],
) -> None:
    request = ingest_request().model_copy(update={"index_models": ("hash", "onnx-int8")})
    await consumer.handle(delivery(request))

    old, new = await indexes.store(DEFAULT), await indexes.store(NEW)
    assert dimensions(old) == {64}
    assert dimensions(new) == {32}
    assert set(old.points) == set(new.points)  # same point ids: same chunks
    assert [s.status for s in statuses(broker)] == [JobStatus.PROCESSING, JobStatus.INDEXED]
    assert all(s.index_model is None for s in statuses(broker))
    assert wrapped == ["hash-32"]  # the new index's embedder is batched like the default's
    # The tenant is billed once, for the first index named (the gateway names the active first).
    indexed = statuses(broker)[-1]
    assert indexed.embedding_model == "hash-64"
    assert indexed.embedding_tokens is not None and indexed.embedding_tokens > 0


async def test_a_reindex_task_writes_only_its_target_and_reports_it(
    consumer: IngestionQueueConsumer, indexes: FakeIndexes, broker: RecordingBroker
) -> None:
    request = ingest_request().model_copy(update={"reindex_of": "onnx-int8"})
    await consumer.handle(delivery(request))

    assert await (await indexes.store(DEFAULT)).count(TENANT) == 0
    assert await (await indexes.store(NEW)).count(TENANT) > 0
    [event] = statuses(broker)  # no "processing": the document's own job is not this one
    assert (event.status, event.index_model) == (JobStatus.INDEXED, "onnx-int8")
    assert event.chunk_count
    # Rebuilding an index is the operator's choice: no tenant is billed for it.
    assert (event.embedding_tokens, event.embedding_model) == (None, None)
    # Its writes are a bulk load on the index being rebuilt, and on nothing else.
    assert (await indexes.store(NEW)).bulk_loads == 1
    assert (await indexes.store(DEFAULT)).bulk_loads == 0


async def test_uploads_are_not_bulk_loads(
    consumer: IngestionQueueConsumer, indexes: FakeIndexes
) -> None:
    request = ingest_request().model_copy(update={"index_models": ("hash", "onnx-int8")})
    await consumer.handle(delivery(request))

    assert (await indexes.store(DEFAULT)).bulk_loads == 0
    assert (await indexes.store(NEW)).bulk_loads == 0


async def test_a_reindex_task_already_superseded_counts_as_done(
    consumer: IngestionQueueConsumer, indexes: FakeIndexes, broker: RecordingBroker
) -> None:
    newer = ingest_request(version=2).model_copy(update={"index_models": ("hash", "onnx-int8")})
    await consumer.handle(delivery(newer))
    broker.published.clear()
    late = ingest_request(version=1).model_copy(update={"reindex_of": "onnx-int8"})
    await consumer.handle(delivery(late))

    [event] = statuses(broker)
    assert (event.status, event.index_model) == (JobStatus.INDEXED, "onnx-int8")
    assert {p.payload.version for p in (await indexes.store(NEW)).points.values()} == {2}


async def test_a_bad_target_fails_the_reindex_task_for_good(
    consumer: IngestionQueueConsumer, broker: RecordingBroker
) -> None:
    request = ingest_request().model_copy(update={"reindex_of": "word2vec"})
    with pytest.raises(PermanentProcessingError) as caught:
        await consumer.handle(delivery(request))
    assert caught.value.code == "unknown_index_model"
    [event] = statuses(broker)
    assert (event.status, event.index_model) == (JobStatus.FAILED, "word2vec")
    assert event.reason is not None and "Unknown index model" in event.reason


async def test_names_of_one_collection_are_written_once(
    consumer: IngestionQueueConsumer, indexes: FakeIndexes
) -> None:
    request = ingest_request().model_copy(update={"index_models": ("onnx-int8", "torch")})
    await consumer.handle(delivery(request))
    assert (await indexes.store(NEW)).upserts == 1


async def test_deletes_apply_to_every_index_named(
    consumer: IngestionQueueConsumer, indexes: FakeIndexes
) -> None:
    both = ("hash", "onnx-int8")
    for version in (1, 2):
        request = ingest_request(version=version).model_copy(update={"index_models": both})
        await consumer.handle(delivery(request))
    prune = DocumentDeleteRequested(
        tenant_id=TENANT, document_id="doc_1", keep_version=2, index_models=both
    )
    await consumer.handle(delivery(prune))
    for spec in (DEFAULT, NEW):
        assert {p.payload.version for p in (await indexes.store(spec)).points.values()} == {2}

    await consumer.handle(delivery(TenantDeleteRequested(tenant_id=TENANT, index_models=both)))
    for spec in (DEFAULT, NEW):
        assert await (await indexes.store(spec)).count(TENANT) == 0


async def test_a_delete_naming_no_index_leaves_the_others(
    consumer: IngestionQueueConsumer, indexes: FakeIndexes
) -> None:
    both = ingest_request().model_copy(update={"index_models": ("hash", "onnx-int8")})
    await consumer.handle(delivery(both))
    await consumer.handle(delivery(DocumentDeleteRequested(tenant_id=TENANT, document_id="doc_1")))
    assert await (await indexes.store(DEFAULT)).count(TENANT) == 0
    assert await (await indexes.store(NEW)).count(TENANT) > 0


async def test_drop_deletes_the_index_and_a_later_job_reopens_it(
    consumer: IngestionQueueConsumer, indexes: FakeIndexes
) -> None:
    request = ingest_request().model_copy(update={"reindex_of": "onnx-int8"})
    await consumer.handle(delivery(request))
    dropped_store = await indexes.store(NEW)

    drop = IndexDropRequested(tenant_id=SYSTEM_TENANT_ID, index_model="onnx-int8")
    await consumer.handle(delivery(drop))
    assert indexes.dropped == ["onnx-int8"]
    assert dropped_store.dropped
    assert await (await indexes.store(DEFAULT)).count(TENANT) == 0  # untouched, still there

    again = DocumentIngestRequested.model_validate(
        {**request.model_dump(), "event_id": "evt_again"}
    )
    await consumer.handle(delivery(again))
    reopened = await indexes.store(NEW)
    assert reopened is not dropped_store
    assert await reopened.count(TENANT) > 0


async def test_a_model_that_cannot_load_fails_the_task_not_the_worker(
    consumer: IngestionQueueConsumer, indexes: FakeIndexes, broker: RecordingBroker
) -> None:
    async def missing(spec: ModelSpec | None = None) -> EmbeddingIndex:
        raise FileNotFoundError("no sentence-transformers model in /nowhere")

    indexes.index = missing  # type: ignore[method-assign]
    request = ingest_request().model_copy(update={"reindex_of": "onnx:/nowhere"})
    with pytest.raises(PermanentProcessingError) as caught:
        await consumer.handle(delivery(request))
    assert caught.value.code == "index_model_unavailable"
    [event] = statuses(broker)
    assert (event.status, event.index_model) == (JobStatus.FAILED, "onnx:/nowhere")


class WordyHash(HashEmbedder):
    """A model whose tokenizer counts every word twice (a finer-grained vocabulary)."""

    def count_tokens(self, text: str) -> int:
        return 2 * super().count_tokens(text)


async def test_chunks_shared_by_two_models_fit_the_stricter_tokenizer(
    consumer: IngestionQueueConsumer, indexes: FakeIndexes
) -> None:
    text = b" ".join(b"Ducks paddle on the lake all day." for _ in range(40))
    alone = ingest_request(text, content_type="text/plain", document_id="doc_alone")
    await consumer.handle(delivery(alone))
    await indexes.index(NEW)
    wordy = WordyHash(32)
    indexes.open["onnx-int8"] = EmbeddingIndex(NEW, wordy, MemoryVectorStore(), index_key(wordy))
    both = ingest_request(text, content_type="text/plain", document_id="doc_both")
    await consumer.handle(delivery(both.model_copy(update={"index_models": ("hash", "onnx-int8")})))

    default = await indexes.store(DEFAULT)
    shared = default.of(TENANT, "doc_both")
    assert len(shared) > len(default.of(TENANT, "doc_alone"))
    assert all(wordy.count_tokens(point.payload.text) <= 32 for point in shared)


async def test_a_late_old_version_is_refused_if_any_index_has_a_newer_one(
    consumer: IngestionQueueConsumer, indexes: FakeIndexes, broker: RecordingBroker
) -> None:
    newer = ingest_request(version=2).model_copy(update={"reindex_of": "onnx-int8"})
    await consumer.handle(delivery(newer))
    broker.published.clear()
    # Only the second index named holds the newer version: every index is looked at.
    late = ingest_request(version=1).model_copy(update={"index_models": ("hash", "onnx-int8")})
    await consumer.handle(delivery(late))

    [event] = statuses(broker)
    assert (event.status, event.reason) == (
        JobStatus.FAILED,
        "superseded by version 2 of the document",
    )
    assert await (await indexes.store(DEFAULT)).count(TENANT) == 0
