"""Fakes and builders the ingestion pipeline's unit tests drive it with.

The fakes keep the port contracts that matter here (tenant scoping, ``keep_version``, chunk
order of ``list_chunks``) and can be told to fail, to check how failures are classified. The
fixtures wiring them into a consumer are in this folder's ``conftest.py``; the tests are
``test_ingest_pipeline*.py``.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

from ragline_common.adapters.embedder import HashEmbedder
from ragline_common.messages import (
    DocumentIngestRequested,
    Envelope,
    JobStatus,
    JobStatusChanged,
    encode_message,
)
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
from ragline_common.topology import QueueName

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
        self.dropped = False
        self.bulk_loads = 0

    def _maybe_fail(self) -> None:
        if self.fail_with is not None:
            raise self.fail_with

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def drop(self) -> None:
        self.points.clear()
        self.dropped = True

    @asynccontextmanager
    async def bulk_load(self) -> AsyncIterator[None]:
        self.bulk_loads += 1
        yield

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
