"""A reindex task in flight when its index is dropped does not write it back (issue 15).

The worker over the process's real :class:`EmbeddingIndexes` (Edge shards in a temporary data
dir, stand-in hash models): the drop leaves a tombstone dated by the drop request, so the task
redelivered afterwards (its write failed on the deleted shard) reports failed without creating
the shard again, a late delete skips the index, and only a reindex started after the drop
builds it anew.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from ingest_pipeline_harness import TENANT, RecordingBroker, delivery, ingest_request

from ragline_common.adapters.embedder import HashEmbedder
from ragline_common.indexing.indexes import EmbeddingIndexes
from ragline_common.indexing.model_spec import ModelSpec
from ragline_common.messages import (
    SYSTEM_TENANT_ID,
    DocumentDeleteRequested,
    DocumentIngestRequested,
    IndexDropRequested,
    JobStatus,
    JobStatusChanged,
)
from ragline_common.ports.embedder import Embedder
from ragline_common.settings import CoreSettings, EmbedderSettings, InfrastructureSettings
from ragline_ingestion.consumers.ingestion_queue import IngestionQueueConsumer
from ragline_ingestion.domain.parsing import default_parsers
from ragline_ingestion.domain.pipeline import IngestionPipeline
from ragline_ingestion.settings import IngestionSettings
from ragline_testing.harness import embedded_settings

NOW = datetime.now(UTC)


async def _stand_in(settings: EmbedderSettings, stack: AsyncExitStack) -> Embedder:
    return HashEmbedder(64 if settings.kind == "hash" else 32)


@pytest.fixture
def settings(tmp_path: Path) -> InfrastructureSettings:
    return embedded_settings(CoreSettings(data_dir=tmp_path), hash_dimension=64)


@pytest.fixture
def broker() -> RecordingBroker:
    return RecordingBroker()


@pytest.fixture
async def indexes(settings: InfrastructureSettings) -> AsyncIterator[EmbeddingIndexes]:
    async with AsyncExitStack() as stack:
        yield EmbeddingIndexes(settings, stack, open_embedder=_stand_in)


@pytest.fixture
async def consumer(indexes: EmbeddingIndexes, broker: RecordingBroker) -> IngestionQueueConsumer:
    default = await indexes.index()
    pipeline = IngestionPipeline(
        settings=IngestionSettings(max_chunk_tokens=32, chunk_overlap_tokens=4),
        parsers=default_parsers(),
        embedder=default.embedder,
        vector_store=default.store,
        broker=broker,
        indexes=indexes,
    )
    return IngestionQueueConsumer(pipeline)


def _shards(settings: InfrastructureSettings) -> set[str]:
    root = settings.vector_store.resolved_path(settings.core.data_dir)
    return {path.name for path in root.iterdir() if path.is_dir()}


async def test_a_task_sent_before_the_drop_does_not_recreate_the_index(
    consumer: IngestionQueueConsumer,
    indexes: EmbeddingIndexes,
    broker: RecordingBroker,
    settings: InfrastructureSettings,
) -> None:
    key = (await indexes.index(_new())).key
    sent = NOW - timedelta(seconds=5)
    await consumer.handle(delivery(_request(sent)))
    assert key in _shards(settings)

    drop = IndexDropRequested(tenant_id=SYSTEM_TENANT_ID, index_model="onnx-int8", occurred_at=NOW)
    await consumer.handle(delivery(drop))
    assert key not in _shards(settings)

    # The task in flight at the drop comes back (redelivered after its write failed).
    await consumer.handle(delivery(_request(sent, "doc_2")))
    late_delete = DocumentDeleteRequested(
        tenant_id=TENANT,
        document_id="doc_1",
        index_models=("hash", "onnx-int8"),
        occurred_at=NOW + timedelta(seconds=0.5),  # a stale list of indexes, after the drop
    )
    await consumer.handle(delivery(late_delete))

    assert key not in _shards(settings)
    last = [m for m, _, _ in broker.published if isinstance(m, JobStatusChanged)][-1]
    assert (last.document_id, last.status, last.index_model) == (
        "doc_2",
        JobStatus.FAILED,
        "onnx-int8",
    )
    assert last.reason == "its index was dropped"

    # A reindex started after the drop builds the index again.
    await consumer.handle(delivery(_request(NOW + timedelta(seconds=1), "doc_3")))
    assert key in _shards(settings)
    rebuilt = await indexes.index(_new())
    assert await rebuilt.store.newest_version(TENANT, "doc_3") == 1
    assert await rebuilt.store.newest_version(TENANT, "doc_1") is None


def _new() -> ModelSpec:
    return ModelSpec.parse("onnx-int8")


def _request(sent_at: datetime, document_id: str = "doc_1") -> DocumentIngestRequested:
    request: DocumentIngestRequested = ingest_request(document_id=document_id).model_copy(
        update={"reindex_of": "onnx-int8", "occurred_at": sent_at}
    )
    return request
