"""Prometheus metrics of the ingestion worker, on the process-wide registry.

Labels are stage and outcome names only, never tenant or document ids (bounded cardinality).
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from ragline_common.observability.metrics import REGISTRY

DOCUMENTS = Counter(
    "ragline_ingest_documents",
    "Documents the ingestion worker finished, by outcome (indexed, failed, superseded).",
    ["outcome"],
    registry=REGISTRY,
)
CHUNKS_INDEXED = Counter(
    "ragline_ingest_chunks_indexed",
    "Chunks written to the vector store.",
    registry=REGISTRY,
)
STAGE_SECONDS = Histogram(
    "ragline_ingest_stage_duration_seconds",
    "Time spent per ingestion stage (parse, chunk, embed, upsert).",
    ["stage"],
    buckets=(0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
    registry=REGISTRY,
)
EMBED_BATCH_SIZE = Histogram(
    "ragline_embed_batch_size",
    "Texts per embedding call made by the ingestion worker.",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024),
    registry=REGISTRY,
)
