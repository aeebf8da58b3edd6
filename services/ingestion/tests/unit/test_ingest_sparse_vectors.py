"""The sparse-vector hook: with a BM25 encoder, indexed chunks are found by sparse search.

Real parts throughout (parser, chunker, Qdrant Edge, the BM25 encoder, the in-process broker);
only the embedder is the hash one.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from ragline_common.adapters.broker.memory import MemoryBroker
from ragline_common.adapters.embedder import HashEmbedder
from ragline_common.adapters.sparse.bm25 import Bm25SparseEncoder
from ragline_common.adapters.vector_store.edge import EdgeVectorStore
from ragline_common.messages import DocumentIngestRequested
from ragline_common.tenancy import TenantId
from ragline_ingestion.domain.parsing import default_parsers
from ragline_ingestion.domain.pipeline import IngestionPipeline
from ragline_ingestion.settings import IngestionSettings

TENANT = TenantId("ten_a")
TEXT = b"Ducks paddle with webbed feet.\n\nHerons wade through shallow water hunting fish."


def request() -> DocumentIngestRequested:
    return DocumentIngestRequested(
        tenant_id=TENANT,
        document_id="doc_birds",
        job_id="job_1",
        version=1,
        title="Birds",
        source_name="birds.txt",
        content_type="text/plain",
        content=TEXT,
        content_hash=hashlib.sha256(TEXT).hexdigest(),
        metadata={},
    )


async def test_chunks_get_bm25_vectors_that_sparse_search_finds(tmp_path: Path) -> None:
    embedder = HashEmbedder(32)
    store = EdgeVectorStore(tmp_path / "vectors", dimension=32)
    broker = MemoryBroker()
    await store.open()
    await broker.start()
    encoder = Bm25SparseEncoder()
    try:
        pipeline = IngestionPipeline(
            settings=IngestionSettings(),
            parsers=default_parsers(),
            embedder=embedder,
            vector_store=store,
            broker=broker,
            sparse_encoder=encoder,
        )
        await pipeline.ingest(request())

        hits = await store.search(
            TENANT, mode="sparse", dense=None, sparse=encoder.encode_query("wading heron"), limit=5
        )
        missing = await store.search(
            TENANT, mode="sparse", dense=None, sparse=encoder.encode_query("giraffe"), limit=5
        )
    finally:
        await broker.close()
        await store.close()

    assert [hit.payload.document_id for hit in hits] == ["doc_birds"]
    assert "Herons wade" in hits[0].payload.text
    assert missing == []
