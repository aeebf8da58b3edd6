"""The whole suite in one process, embedding through a remote OpenAI-compatible provider.

``RAGLINE_EMBEDDER_KIND=openai`` with no dimension configured: the process learns the dimension
from the provider's answer to its probe before the vector store is created from it, then
indexes a document and answers a search with vectors fetched over real HTTP from
:mod:`ragline_testing.embedding_server` (hash vectors, so no model is loaded).
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import httpx
import pytest
from asgi_lifespan import LifespanManager

from ragline_cli.runner import SERVICE_NAMES, build_app
from ragline_common.adapters.embedder.hashing import HashEmbedder
from ragline_common.hosting import Host
from ragline_common.settings import CoreSettings, EmbedderSettings
from ragline_testing.embedding_server import FakeEmbeddingServer
from ragline_testing.harness import embedded_settings, serve_asgi

ADMIN_TOKEN = "operator-token-for-remote-embeddings-01"
REMOTE_DIMENSION = 48


@pytest.fixture
def provider() -> FakeEmbeddingServer:
    return FakeEmbeddingServer(engine=HashEmbedder(REMOTE_DIMENSION), model="remote-hash")


@pytest.fixture
async def monolith(
    tmp_path: Path, provider: FakeEmbeddingServer
) -> AsyncIterator[tuple[Host, httpx.AsyncClient]]:
    async with serve_asgi(provider.app()) as url:
        settings = dataclasses.replace(
            embedded_settings(
                CoreSettings(data_dir=tmp_path, admin_token=ADMIN_TOKEN, shutdown_grace_s=1.0)
            ),
            embedder=EmbedderSettings(kind="openai", base_url=f"{url}/v1", model="remote-hash"),
        )
        app = build_app(frozenset(SERVICE_NAMES), settings)
        async with LifespanManager(app) as manager:
            transport = httpx.ASGITransport(app=manager.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://ragline") as client:
                yield app.state.host, client


async def test_a_document_is_indexed_and_found_with_remote_embeddings(
    monolith: tuple[Host, httpx.AsyncClient], provider: FakeEmbeddingServer
) -> None:
    host, client = monolith
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    tenant = await client.post("/v1/tenants", json={"name": "acme"}, headers=admin)
    assert tenant.status_code == 201, tenant.text
    key = await client.post(
        f"/v1/tenants/{tenant.json()['id']}/keys",
        json={"scopes": ["ingest", "query"]},
        headers=admin,
    )
    auth = {"Authorization": f"Bearer {key.json()['key']}"}

    embedder = await host.embedder()
    assert embedder.model_id == "remote-hash"
    assert embedder.dimension == REMOTE_DIMENSION, "learnt from the provider's probe"
    probes = len(provider.requests)
    assert probes >= 1

    upload = await client.post(
        "/v1/documents",
        json={"title": "Otters", "text": "Otters crack shellfish on their bellies. " * 30},
        headers=auth,
    )
    assert upload.status_code == 202, upload.text
    document_id, job_id = upload.json()["document_id"], upload.json()["job_id"]
    for _ in range(400):
        if (await client.get(f"/v1/jobs/{job_id}", headers=auth)).json()["status"] == "indexed":
            break
        await anyio.sleep(0.05)
    else:
        pytest.fail("the document was not indexed within 20 s")
    indexed_requests = len(provider.requests)
    assert indexed_requests > probes, "the chunks were embedded by the provider"

    hits = await client.post("/v1/search", json={"query": "otters shellfish"}, headers=auth)
    assert hits.status_code == 200, hits.text
    assert [hit["document_id"] for hit in hits.json()["results"]][:1] == [document_id]
    assert len(provider.requests) == indexed_requests + 1, "the query was embedded remotely"
