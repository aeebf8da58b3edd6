"""Reindex operator API (issue 15): start, progress, automatic switch, switch back, drop, refusals,
and searches reading one model at a time. A fake worker keeps one index per model spec."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from gw_harness import ADMIN_TOKEN, FakeAnswers, Tenant, bearer, infrastructure, make_tenant
from test_gw_api import assert_problem

from ragline_cli.assembly import assemble_app
from ragline_common.contracts.search import (
    ChunkPage,
    ChunkPageRequest,
    SearchHit,
    SearchQuery,
    SearchResult,
)
from ragline_common.hosting import ANSWER_API, SEARCH_API, Api, ComponentHost, Requirement
from ragline_common.messages import (
    DocumentDeleteRequested,
    DocumentIngestRequested,
    IndexDropRequested,
    JobStatus,
    JobStatusChanged,
    TenantDeleteRequested,
    parse_message,
)
from ragline_common.ports.broker import Delivery
from ragline_common.tenancy import TenantId
from ragline_common.topology import ROUTING_JOB_STATUS, QueueName
from ragline_gateway.component import GatewayComponent
from ragline_gateway.settings import GatewaySettings

DEFAULT = "hash"
"""The harness's embedder kind (embedded_settings): the default index."""
OPERATOR = bearer(ADMIN_TOKEN)


@dataclass
class ModelIndexes:
    """Search and worker over one in-memory index per model spec (None = the default)."""

    hits: dict[str, dict[TenantId, list[SearchHit]]] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)
    written: list[tuple[str, ...]] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    deletes: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    """(message type, index_models) of every delete the worker got."""
    fail_reindex: bool = False
    hold: asyncio.Event = field(default_factory=asyncio.Event)

    async def search(
        self, tenant_id: TenantId, query: SearchQuery, index_model: str | None = None
    ) -> SearchResult:
        spec = index_model or DEFAULT
        self.asked.append(spec)
        found = self.hits.get(spec, {}).get(tenant_id, [])
        return SearchResult(results=found[: query.top_k], mode="dense")

    async def list_chunks(
        self, tenant_id: TenantId, request: ChunkPageRequest, index_model: str | None = None
    ) -> ChunkPage:
        return ChunkPage(chunks=[])

    async def work(self, message: DocumentIngestRequested) -> JobStatusChanged:
        targets = message.index_models or (DEFAULT,)
        self.written.append(targets)
        if message.reindex_of is not None:
            await self.hold.wait()
        failed = message.reindex_of is not None and self.fail_reindex
        if not failed:
            for spec in targets:
                self.hits.setdefault(spec, {}).setdefault(message.tenant_id, []).append(
                    SearchHit(
                        document_id=message.document_id,
                        chunk_id=f"{spec}-{message.document_id}",
                        text=message.content.decode(),
                        score=0.9,
                        metadata=message.metadata,
                        title=message.title,
                        source_name=message.source_name,
                        version=message.version,
                        chunk_index=0,
                    )
                )
        return JobStatusChanged(
            tenant_id=message.tenant_id,
            job_id=message.job_id,
            document_id=message.document_id,
            version=message.version,
            status=JobStatus.FAILED if failed else JobStatus.INDEXED,
            reason="embedder refused" if failed else None,
            chunk_count=None if failed else 1,
            index_model=message.reindex_of,
        )


@dataclass
class Peers:
    indexes: ModelIndexes
    name: str = "model-indexes"
    provides: tuple[Api[object], ...] = (SEARCH_API, ANSWER_API)  # type: ignore[assignment]
    requires: tuple[Requirement[object], ...] = ()

    def routers(self, *, internal_api: bool) -> list[object]:
        return []

    def middleware(self) -> list[object]:
        return []

    async def start(self, host: ComponentHost) -> None:
        host.provide(SEARCH_API, self.indexes)
        host.provide(ANSWER_API, FakeAnswers())
        broker = await host.broker()

        async def work(delivery: Delivery) -> None:
            message = parse_message(delivery.body)
            if isinstance(message, IndexDropRequested):
                self.indexes.dropped.append(message.index_model)
                self.indexes.hits.pop(message.index_model, None)
                return
            if isinstance(message, DocumentDeleteRequested | TenantDeleteRequested):
                self.indexes.deletes.append((message.type, message.index_models))
                return
            if not isinstance(message, DocumentIngestRequested):
                return
            status = await self.indexes.work(message)
            await broker.publish(status, routing_key=ROUTING_JOB_STATUS)

        await broker.consume(QueueName.INGESTION, work, prefetch=16)


@pytest.fixture
def indexes() -> ModelIndexes:
    return ModelIndexes()


@pytest.fixture
async def client(tmp_path: Path, indexes: ModelIndexes) -> AsyncIterator[httpx.AsyncClient]:
    settings = GatewaySettings(query_per_minute=10_000, ingest_per_minute=10_000)
    peers = Peers(indexes)
    app = assemble_app([peers, GatewayComponent(settings)], infrastructure(tmp_path))  # type: ignore[list-item]
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
            try:
                yield http
            finally:
                indexes.hold.set()  # no delivery left waiting at shutdown


async def _upload(client: httpx.AsyncClient, tenant: Tenant, text: str) -> None:
    response = await client.post(
        "/v1/documents",
        files={"file": (f"{text}.txt", text.encode(), "text/plain")},
        headers=bearer(tenant.key),
    )
    assert response.status_code == 202, response.text
    job = f"/v1/jobs/{response.json()['job_id']}"
    for _ in range(200):
        if (await client.get(job, headers=bearer(tenant.key))).json()["status"] == "indexed":
            return
        await asyncio.sleep(0.01)
    raise AssertionError("upload not indexed")


async def _row(client: httpx.AsyncClient, spec: str) -> dict[str, object]:
    response = await client.get(f"/v1/admin/index-models/{spec}", headers=OPERATOR)
    assert response.status_code == 200, response.text
    row: dict[str, object] = response.json()
    return row


async def _until(client: httpx.AsyncClient, spec: str, state: str) -> dict[str, object]:
    for _ in range(300):
        row = await _row(client, spec)
        if row["state"] == state:
            return row
        await asyncio.sleep(0.01)
    raise AssertionError(f"{spec} never became {state}: {row}")


async def _search(client: httpx.AsyncClient, tenant: Tenant) -> dict[str, object]:
    response = await client.post(
        "/v1/search", json={"query": "anything"}, headers=bearer(tenant.query_key)
    )
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


async def test_a_reindex_builds_switches_back_and_drops(
    client: httpx.AsyncClient, indexes: ModelIndexes
) -> None:
    acme, globex = await make_tenant(client, "acme"), await make_tenant(client, "globex")
    for name in ("alpha", "beta"):
        await _upload(client, acme, name)
    await _upload(client, globex, "gamma")
    assert (await _search(client, acme))["index_model"] == DEFAULT
    # Before any reindex the default index travels unnamed (old workers keep working).
    assert indexes.written == [(DEFAULT,)] * 3

    started = await client.post(
        "/v1/admin/index-models", json={"model": " onnx-int8 "}, headers=OPERATOR
    )
    assert started.status_code == 202, started.text
    assert {k: started.json()[k] for k in ("model", "state", "total", "done")} == {
        "model": "onnx-int8",
        "state": "building",
        "total": 3,
        "done": 0,
    }
    # While it builds, reads stay on the default and uploads go to both indexes.
    await asyncio.sleep(0.05)
    assert (await _search(client, acme))["index_model"] == DEFAULT
    await _upload(client, acme, "delta")
    assert indexes.written[-1] == ("hash", "onnx-int8")
    indexes.hold.set()

    row = await _until(client, "onnx-int8", "active")
    assert (row["done"], row["failed"], row["percent"]) == (3, 0, 100.0)
    await asyncio.sleep(1.1)  # the active spec is cached for at most a second
    after = await _search(client, acme)
    assert after["index_model"] == "onnx-int8"
    assert {hit["text"] for hit in after["results"]} == {"alpha", "beta", "delta"}  # type: ignore[attr-defined]
    listing = (await client.get("/v1/admin/index-models", headers=OPERATOR)).json()
    assert listing["active"] == "onnx-int8"
    assert {r["model"]: r["state"] for r in listing["index_models"]} == {
        "hash": "previous",
        "onnx-int8": "active",
    }

    # The previous index keeps receiving uploads, so switching back loses nothing.
    await _upload(client, acme, "epsilon")
    assert indexes.written[-1] == ("onnx-int8", "hash")  # the active first: it is billed
    back = await client.post("/v1/admin/index-models/hash/activate", headers=OPERATOR)
    assert back.status_code == 200 and back.json()["state"] == "active"
    await asyncio.sleep(1.1)
    before = await _search(client, acme)
    assert before["index_model"] == DEFAULT
    assert {hit["text"] for hit in before["results"]} == {"alpha", "beta", "delta", "epsilon"}  # type: ignore[attr-defined]

    dropped = await client.delete("/v1/admin/index-models/onnx-int8", headers=OPERATOR)
    assert dropped.status_code == 202 and dropped.json()["state"] == "dropped"
    for _ in range(100):
        if indexes.dropped:
            break
        await asyncio.sleep(0.01)
    assert indexes.dropped == ["onnx-int8"]
    refused = await client.post("/v1/admin/index-models/onnx-int8/activate", headers=OPERATOR)
    assert_problem(refused, 409, "index_model_dropped")


async def test_problem_codes(client: httpx.AsyncClient, indexes: ModelIndexes) -> None:
    acme = await make_tenant(client, "acme")
    await _upload(client, acme, "alpha")

    for bad in ("word2vec", "hash:some-model", "onnx:", ""):
        response = await client.post(
            "/v1/admin/index-models", json={"model": bad}, headers=OPERATOR
        )
        assert response.status_code == 422, bad
    assert_problem(
        await client.post("/v1/admin/index-models", json={"model": "bert"}, headers=OPERATOR),
        422,
        "unknown_index_model",
    )
    assert_problem(
        await client.post("/v1/admin/index-models", json={"model": "hash"}, headers=OPERATOR),
        409,
        "index_model_active",
    )
    started = await client.post(
        "/v1/admin/index-models", json={"model": "onnx-int8"}, headers=OPERATOR
    )
    assert started.status_code == 202
    assert_problem(
        await client.post("/v1/admin/index-models", json={"model": "torch"}, headers=OPERATOR),
        409,
        "reindex_in_progress",
    )
    assert_problem(
        await client.post("/v1/admin/index-models/onnx-int8/activate", headers=OPERATOR),
        409,
        "reindex_in_progress",
    )
    assert_problem(
        await client.delete("/v1/admin/index-models/hash", headers=OPERATOR),
        409,
        "index_model_active",
    )
    assert_problem(
        await client.get("/v1/admin/index-models/openai", headers=OPERATOR),
        404,
        "index_model_not_found",
    )
    # Tenant keys, even admin ones, are not operators: indexes are every tenant's.
    assert (await client.get("/v1/admin/index-models", headers=bearer(acme.key))).status_code == 403


async def test_failed_tasks_hold_the_switch_until_forced(
    client: httpx.AsyncClient, indexes: ModelIndexes
) -> None:
    acme = await make_tenant(client, "acme")
    await _upload(client, acme, "alpha")
    indexes.fail_reindex = True
    indexes.hold.set()

    await client.post("/v1/admin/index-models", json={"model": "onnx-int8"}, headers=OPERATOR)
    for _ in range(300):
        row = await _row(client, "onnx-int8")
        if row["failed"] == 1:
            break
        await asyncio.sleep(0.01)

    assert (row["state"], row["done"], row["failed"], row["error"]) == (
        "building",
        0,
        1,
        "embedder refused",
    )
    forced = await client.post("/v1/admin/index-models/onnx-int8/activate", headers=OPERATOR)
    assert forced.status_code == 200 and forced.json()["state"] == "active"
