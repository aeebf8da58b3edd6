"""Fixtures of the ingestion pipeline's unit tests (``test_ingest_pipeline*.py``): a consumer
over the fakes of ``ingest_pipeline_harness``, with small batches so that batching shows on a
short document. Here rather than in the harness so that those modules share them without
importing fixtures by name; other tests in this folder do not ask for them.
"""

from __future__ import annotations

import pytest
from ingest_pipeline_harness import FailingEmbedder, MemoryVectorStore, RecordingBroker

from ragline_ingestion.consumers.ingestion_queue import IngestionQueueConsumer
from ragline_ingestion.domain.parsing import default_parsers
from ragline_ingestion.domain.pipeline import IngestionPipeline
from ragline_ingestion.settings import IngestionSettings


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
