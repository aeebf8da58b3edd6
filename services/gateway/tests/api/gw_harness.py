"""A real gateway (SQLite catalog, in-process broker) with fake retrieval, generation and worker."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import APIRouter
from starlette.middleware import Middleware

from ragline_cli.assembly import assemble_app
from ragline_common.contracts.answer import Answer, AnswerRequest, Citation, Usage
from ragline_common.contracts.search import (
    ChunkPage,
    ChunkPageRequest,
    SearchHit,
    SearchQuery,
    SearchResult,
    StoredChunk,
)
from ragline_common.errors import PermanentProcessingError
from ragline_common.hosting import ANSWER_API, SEARCH_API, Api, ComponentHost, Requirement
from ragline_common.messages import (
    DocumentDeleteRequested,
    DocumentIngestRequested,
    JobStatus,
    JobStatusChanged,
    TenantDeleteRequested,
    parse_message,
)
from ragline_common.ports.broker import Broker, Delivery
from ragline_common.settings import CoreSettings, InfrastructureSettings
from ragline_common.tenancy import Scope, TenantId
from ragline_common.topology import ROUTING_JOB_STATUS, QueueName
from ragline_gateway.adapters.catalog import SqlCatalog
from ragline_gateway.component import GatewayComponent
from ragline_gateway.domain import api_keys
from ragline_gateway.settings import GatewaySettings
from ragline_testing.harness import embedded_settings

ADMIN_TOKEN = "operator-token-for-tests-0123456789"
POISON = b"POISON"
"""Content the fake worker refuses permanently, so tests can make dead letters."""


class FakeSearch:
    """Returns one hit per document the fake worker indexed for the asking tenant."""

    def __init__(self) -> None:
        self.indexed: dict[TenantId, list[SearchHit]] = {}

    def forget(self, tenant_id: TenantId, document_id: str, keep_version: int | None) -> None:
        self.indexed[tenant_id] = [
            hit
            for hit in self.indexed.get(tenant_id, [])
            if hit.document_id != document_id
            or (keep_version is not None and hit.version >= keep_version)
        ]

    async def list_chunks(self, tenant_id: TenantId, request: ChunkPageRequest) -> ChunkPage:
        hits = [
            hit
            for hit in self.indexed.get(tenant_id, [])
            if hit.document_id == request.document_id and hit.version == request.version
        ]
        chunks = [
            StoredChunk(
                chunk_id=hit.chunk_id,
                document_id=hit.document_id,
                version=hit.version,
                chunk_index=hit.chunk_index,
                text=hit.text,
                title=hit.title,
                source_name=hit.source_name,
                content_type="text/plain",
                char_start=0,
                char_end=len(hit.text),
                metadata=hit.metadata,
            )
            for hit in hits
        ]
        return ChunkPage(chunks=chunks[request.offset : request.offset + request.limit])

    async def search(self, tenant_id: TenantId, query: SearchQuery) -> SearchResult:
        return SearchResult(results=self.indexed.get(tenant_id, [])[: query.top_k], mode="dense")


class FakeAnswers:
    async def answer(self, tenant_id: TenantId, request: AnswerRequest) -> Answer:
        citations = [
            Citation(
                index=i + 1,
                document_id=c.document_id,
                chunk_id=c.chunk_id,
                title=c.title,
                snippet=c.text,
            )
            for i, c in enumerate(request.chunks)
        ]
        text = " ".join(f"{c.text} [{i + 1}]" for i, c in enumerate(request.chunks)) or "No answer."
        return Answer(
            answer=text, citations=citations, mode="extractive", usage=Usage(model="fake")
        )


@dataclass
class FakePeers:
    """Plays retrieval, generation and the ingestion worker in-process."""

    search: FakeSearch
    answers: FakeAnswers
    name: str = "fake-peers"
    provides: tuple[Api[Any], ...] = (SEARCH_API, ANSWER_API)
    requires: tuple[Requirement[Any], ...] = ()
    embedding_tokens: int | None = None
    """What each ``indexed`` event reports its embeddings spent (``EMBEDDING_MODEL``'s)."""

    def routers(self, *, internal_api: bool) -> Sequence[APIRouter]:
        return []

    def middleware(self) -> Sequence[Middleware]:
        return []

    async def start(self, host: ComponentHost) -> None:
        if SEARCH_API in self.provides:
            host.provide(SEARCH_API, self.search)
        if ANSWER_API in self.provides:
            host.provide(ANSWER_API, self.answers)
        broker = await host.broker()

        async def work(delivery: Delivery) -> None:
            message = parse_message(delivery.body)
            if isinstance(message, DocumentDeleteRequested):
                self.search.forget(message.tenant_id, message.document_id, message.keep_version)
                return
            if isinstance(message, TenantDeleteRequested):
                self.search.indexed.pop(message.tenant_id, None)
                return
            assert isinstance(message, DocumentIngestRequested)
            if message.content == POISON:
                raise PermanentProcessingError("the document is poisoned", code="poisoned")
            self.search.indexed.setdefault(message.tenant_id, []).append(
                SearchHit(
                    document_id=message.document_id,
                    chunk_id=f"chunk-{message.document_id}",
                    text=message.content.decode(),
                    score=0.9,
                    metadata=message.metadata,
                    title=message.title,
                    source_name=message.source_name,
                    version=message.version,
                    chunk_index=0,
                )
            )
            await _report(broker, message, JobStatus.INDEXED, self.embedding_tokens)

        await broker.consume(QueueName.INGESTION, work, prefetch=4)


EMBEDDING_MODEL = "fake-embedder"


async def _report(
    broker: Broker,
    message: DocumentIngestRequested,
    status: JobStatus,
    embedding_tokens: int | None = None,
) -> None:
    await broker.publish(
        JobStatusChanged(
            tenant_id=message.tenant_id,
            job_id=message.job_id,
            document_id=message.document_id,
            version=message.version,
            status=status,
            chunk_count=1,
            embedding_tokens=embedding_tokens,
            embedding_model=EMBEDDING_MODEL if embedding_tokens is not None else None,
        ),
        routing_key=ROUTING_JOB_STATUS,
    )


def infrastructure(data_dir: Path) -> InfrastructureSettings:
    return embedded_settings(CoreSettings(data_dir=data_dir, admin_token=ADMIN_TOKEN))


@pytest.fixture
def gateway_settings() -> GatewaySettings:
    return GatewaySettings(
        max_upload_bytes=64 * 1024, query_per_minute=1000, ingest_per_minute=1000
    )


@pytest.fixture
def peers() -> FakePeers:
    return FakePeers(FakeSearch(), FakeAnswers())


@pytest.fixture
async def client(
    tmp_path: Path, gateway_settings: GatewaySettings, peers: FakePeers
) -> AsyncIterator[httpx.AsyncClient]:
    app = assemble_app([peers, GatewayComponent(gateway_settings)], infrastructure(tmp_path))
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
            yield http


@dataclass(frozen=True)
class Tenant:
    id: str
    key: str
    query_key: str


async def make_tenant(client: httpx.AsyncClient, name: str) -> Tenant:
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    created = await client.post("/v1/tenants", json={"name": name}, headers=admin)
    assert created.status_code == 201, created.text
    tenant_id = created.json()["id"]
    keys = []
    for scopes in (["ingest", "query"], ["query"]):
        response = await client.post(
            f"/v1/tenants/{tenant_id}/keys", json={"scopes": scopes}, headers=admin
        )
        assert response.status_code == 201, response.text
        keys.append(response.json()["key"])
    return Tenant(tenant_id, keys[0], keys[1])


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def ingest_key_in_catalog(
    catalog: SqlCatalog, pepper: bytes, *, tenant_name: str = "producer"
) -> tuple[TenantId, str]:
    """A new tenant and an ``ingest`` key of it, written straight into the catalog: for tests
    that drive a consumer (the queue drop) without the REST door."""
    tenant = (await catalog.create_tenant(tenant_name)).id
    key = api_keys.generate_key()
    await catalog.create_api_key(
        tenant,
        name="ingest",
        prefix=api_keys.display_prefix(key),
        key_hash=api_keys.hash_key(key, pepper),
        scopes=frozenset({Scope.INGEST}),
        expires_at=None,
    )
    return tenant, key
