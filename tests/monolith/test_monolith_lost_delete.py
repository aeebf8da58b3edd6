"""A delete whose request the broker refused is still carried out, by the sweeper (defect 13).

The whole suite in one process (``ragline run --target all``: SQLite catalog, in-process broker,
embedded Qdrant Edge, hashing embedder). A document is indexed, then deleted while the broker
refuses to publish delete requests: the catalog tombstones it at once (searches stop showing it),
but its chunks stay in the store. Once the broker accepts publishes again, the gateway's periodic
sweep re-sends the request and the chunks disappear from the real store.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from asgi_lifespan import LifespanManager

from ragline_cli.runner import SERVICE_NAMES, build_app
from ragline_common.errors import UpstreamUnavailable
from ragline_common.hosting import Host
from ragline_common.messages import Envelope
from ragline_common.settings import CoreSettings
from ragline_common.tenancy import TenantId
from ragline_common.topology import ROUTING_DELETE
from ragline_testing.harness import embedded_settings

ADMIN_TOKEN = "operator-token-for-lost-deletes-0123"


class RefusedDeletes:
    """Makes the host's broker refuse delete requests while ``refusing`` is set."""

    def __init__(self) -> None:
        self.refusing = False
        self.refused = 0

    def wrap(self, publish: Any) -> Any:
        async def guarded(
            message: Envelope, *, routing_key: str, headers: Mapping[str, str] | None = None
        ) -> None:
            if self.refusing and routing_key == ROUTING_DELETE:
                self.refused += 1
                raise UpstreamUnavailable("RabbitMQ refused the publish.")
            await publish(message, routing_key=routing_key, headers=headers)

        return guarded


@pytest.fixture
async def monolith(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[Host, httpx.AsyncClient]]:
    monkeypatch.setenv("RAGLINE_GATEWAY_SWEEP_INTERVAL_S", "0.1")
    settings = embedded_settings(
        CoreSettings(data_dir=tmp_path, admin_token=ADMIN_TOKEN, shutdown_grace_s=1.0),
        hash_dimension=64,
    )
    app = build_app(frozenset(SERVICE_NAMES), settings)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ragline") as client:
            yield app.state.host, client


async def _tenant_key(client: httpx.AsyncClient) -> tuple[TenantId, dict[str, str]]:
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    tenant = await client.post("/v1/tenants", json={"name": "acme"}, headers=admin)
    assert tenant.status_code == 201, tenant.text
    tenant_id = tenant.json()["id"]
    key = await client.post(
        f"/v1/tenants/{tenant_id}/keys", json={"scopes": ["ingest", "query"]}, headers=admin
    )
    assert key.status_code == 201, key.text
    return TenantId(tenant_id), {"Authorization": f"Bearer {key.json()['key']}"}


async def _eventually(condition: Callable[[], Awaitable[bool]], timeout_s: float = 20.0) -> None:
    for _ in range(int(timeout_s / 0.05)):
        if await condition():
            return
        await anyio.sleep(0.05)
    pytest.fail(f"not within {timeout_s} s")


async def test_a_delete_lost_to_a_broker_outage_is_sent_again_by_the_sweeper(
    monolith: tuple[Host, httpx.AsyncClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    host, client = monolith
    tenant_id, auth = await _tenant_key(client)
    upload = await client.post(
        "/v1/documents",
        json={"title": "Ducks", "text": "Ducks paddle on the lake. " * 40},
        headers=auth,
    )
    assert upload.status_code == 202, upload.text
    document_id, job_id = upload.json()["document_id"], upload.json()["job_id"]

    async def indexed() -> bool:
        job = await client.get(f"/v1/jobs/{job_id}", headers=auth)
        return bool(job.json()["status"] == "indexed")

    await _eventually(indexed)
    store = await host.vector_store()
    assert await store.count(tenant_id, document_id) > 0

    broker = await host.broker()
    refused = RefusedDeletes()
    monkeypatch.setattr(broker, "publish", refused.wrap(broker.publish))
    refused.refusing = True
    deleted = await client.delete(f"/v1/documents/{document_id}", headers=auth)
    assert deleted.status_code == 204
    assert (await client.get(f"/v1/documents/{document_id}", headers=auth)).status_code == 404
    await anyio.sleep(0.5)  # a few sweeps while the broker still refuses
    assert await store.count(tenant_id, document_id) > 0, "the request was refused"

    refused.refusing = False

    async def erased() -> bool:
        return await store.count(tenant_id, document_id) == 0

    await _eventually(erased)
    assert refused.refused >= 1
