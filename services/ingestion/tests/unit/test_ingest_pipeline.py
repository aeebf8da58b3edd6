"""The ingestion pipeline against an in-memory vector store and a recording broker.

The fakes keep the port contracts that matter here (tenant scoping, ``keep_version``, chunk
order of ``list_chunks``) and can be told to fail, to check how failures are classified.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from pydantic import ValidationError

from ragline_common.adapters.embedder import HashEmbedder
from ragline_common.adapters.embedder.batching import BatchingEmbedder
from ragline_common.errors import (
    PermanentProcessingError,
    TransientProcessingError,
    UpstreamUnavailable,
)
from ragline_common.ids import chunk_point_id
from ragline_common.messages import (
    DocumentDeleteRequested,
    DocumentIngestRequested,
    Envelope,
    JobStatus,
    JobStatusChanged,
    encode_message,
)
from ragline_common.observability import messaging
from ragline_common.observability.metrics import REGISTRY
from ragline_common.ports.broker import Delivery, Handler
from ragline_common.ports.vector_store import (
    ChunkPayload,
    ChunkPoint,
    MetadataCondition,
    ScoredChunk,
    SearchMode,
    SparseVector,
)
from ragline_common.tenancy import TenantId
from ragline_common.topology import ROUTING_JOB_STATUS, QueueName
from ragline_ingestion.consumers.ingestion_queue import IngestionQueueConsumer
from ragline_ingestion.domain import pipeline as pipeline_module
from ragline_ingestion.domain.parsing import default_parsers
from ragline_ingestion.domain.pipeline import IngestionPipeline
from ragline_ingestion.settings import IngestionSettings
from ragline_testing.embedding_server import FakeEmbeddingServer, remote_embedder
from ragline_testing.harness import recording_spans

TENANT = TenantId("ten_a")
OTHER_TENANT = TenantId("ten_b")

MARKDOWN = b"""# Ducks

Ducks are waterfowl. They paddle with webbed feet.

## Food

Ducks eat leaves, berries and grain. Bread is bad for them.
"""


class MemoryVectorStore:
    def __init__(self) -> None:
        self.points: dict[tuple[TenantId, str], ChunkPoint] = {}
        self.fail_with: Exception | None = None
        self.upserts = 0

    def _maybe_fail(self) -> None:
        if self.fail_with is not None:
            raise self.fail_with

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def ping(self) -> None:
        self._maybe_fail()

    async def upsert(self, tenant_id: TenantId, points: Sequence[ChunkPoint]) -> None:
        self._maybe_fail()
        if any(point.payload.tenant_id != tenant_id for point in points):
            raise ValueError("payload of another tenant")
        self.upserts += 1
        self.points.update({(tenant_id, point.id): point for point in points})

    async def delete_document(
        self, tenant_id: TenantId, document_id: str, *, keep_version: int | None = None
    ) -> None:
        self._maybe_fail()
        self.points = {
            key: point
            for key, point in self.points.items()
            if not (
                key[0] == tenant_id
                and point.payload.document_id == document_id
                and (keep_version is None or point.payload.version < keep_version)
            )
        }

    async def delete_tenant(self, tenant_id: TenantId) -> None:
        self.points = {key: p for key, p in self.points.items() if key[0] != tenant_id}

    async def search(
        self,
        tenant_id: TenantId,
        *,
        mode: SearchMode,
        dense: Sequence[float] | None,
        sparse: SparseVector | None,
        limit: int,
        conditions: Sequence[MetadataCondition] = (),
    ) -> list[ScoredChunk]:
        assert mode == "dense"
        assert dense is not None
        assert not conditions
        hits = [
            ScoredChunk(
                point.id, sum(a * b for a, b in zip(point.dense, dense, strict=True)), point.payload
            )
            for (tenant, _), point in self.points.items()
            if tenant == tenant_id
        ]
        return sorted(hits, key=lambda hit: -hit.score)[:limit]

    async def list_chunks(
        self, tenant_id: TenantId, document_id: str, *, limit: int, offset: int
    ) -> list[ChunkPayload]:
        self._maybe_fail()
        payloads = sorted(
            (p.payload for (t, _), p in self.points.items() if t == tenant_id),
            key=lambda payload: (payload.version, payload.chunk_index),
        )
        mine = [payload for payload in payloads if payload.document_id == document_id]
        return mine[offset : offset + limit]

    async def count(self, tenant_id: TenantId, document_id: str | None = None) -> int:
        self._maybe_fail()
        return sum(
            1
            for (t, _), p in self.points.items()
            if t == tenant_id and document_id in (None, p.payload.document_id)
        )

    async def newest_version(self, tenant_id: TenantId, document_id: str) -> int | None:
        self._maybe_fail()
        return max((p.payload.version for p in self.of(tenant_id, document_id)), default=None)

    def of(self, tenant_id: TenantId, document_id: str) -> list[ChunkPoint]:
        return sorted(
            (
                p
                for (t, _), p in self.points.items()
                if t == tenant_id and p.payload.document_id == document_id
            ),
            key=lambda p: (p.payload.version, p.payload.chunk_index),
        )


class RecordingBroker:
    def __init__(self) -> None:
        self.published: list[tuple[Envelope, str, dict[str, str]]] = []
        self.consumers: list[tuple[QueueName, Handler, int]] = []
        self.fail_with: Exception | None = None

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def ping(self) -> None: ...

    async def publish(
        self, message: Envelope, *, routing_key: str, headers: Mapping[str, str] | None = None
    ) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        self.published.append((message, routing_key, dict(headers or {})))

    async def consume(self, queue: QueueName, handler: Handler, *, prefetch: int) -> None:
        self.consumers.append((queue, handler, prefetch))

    async def queue_depth(self, queue: QueueName) -> int:
        return 0

    def statuses(self) -> list[tuple[JobStatus, int | None, str | None]]:
        events = [m for m, _, _ in self.published if isinstance(m, JobStatusChanged)]
        return [(e.status, e.chunk_count, e.reason) for e in events]


class FailingEmbedder(HashEmbedder):
    def __init__(self) -> None:
        super().__init__(64)
        self.fail_with: Exception | None = None

    async def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        if self.fail_with is not None:
            raise self.fail_with
        return await super().embed_documents(texts)


@pytest.fixture
def store() -> MemoryVectorStore:
    return MemoryVectorStore()


@pytest.fixture
def broker() -> RecordingBroker:
    return RecordingBroker()


@pytest.fixture
def embedder() -> FailingEmbedder:
    return FailingEmbedder()


@pytest.fixture
def consumer(
    store: MemoryVectorStore, broker: RecordingBroker, embedder: FailingEmbedder
) -> IngestionQueueConsumer:
    pipeline = IngestionPipeline(
        settings=IngestionSettings(
            max_chunk_tokens=32, chunk_overlap_tokens=4, upsert_batch_size=2
        ),
        parsers=default_parsers(),
        embedder=embedder,
        vector_store=store,
        broker=broker,
    )
    return IngestionQueueConsumer(pipeline)


def ingest_request(
    content: bytes = MARKDOWN,
    *,
    version: int = 1,
    tenant_id: TenantId = TENANT,
    document_id: str = "doc_1",
    content_type: str = "text/markdown",
    metadata: dict[str, Any] | None = None,
) -> DocumentIngestRequested:
    return DocumentIngestRequested(
        tenant_id=tenant_id,
        document_id=document_id,
        job_id=f"job_{document_id}_{version}",
        version=version,
        title="Ducks",
        source_name="ducks.md",
        content_type=content_type,
        content=content,
        content_hash=hashlib.sha256(content).hexdigest(),
        metadata=metadata or {"team": "birds", "year": 2024},
    )


def delivery(message: Envelope, headers: Mapping[str, str] | None = None) -> Delivery:
    return Delivery(body=encode_message(message), routing_key="x", headers=dict(headers or {}))


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
