"""One tenant cannot fill the ingestion backlog or outrun its rate limit by the other door
(defect 12).

A real gateway (SQLite catalog, in-process broker) with no worker: jobs stay unfinished, as they
do while ingestion is behind. Tenant A floods both doors, REST and the queue drop; it is refused
(429 on REST, a delayed retry on the queue drop) while tenant B's uploads are still accepted by
both. The queue-drop consumer is the one the gateway registered, found on the broker.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import APIRouter
from gw_harness import ADMIN_TOKEN, FakeAnswers, FakeSearch, Tenant, bearer, infrastructure
from starlette.middleware import Middleware

from ragline_cli.assembly import assemble_app
from ragline_common.adapters.broker.memory import MemoryBroker
from ragline_common.errors import TransientProcessingError
from ragline_common.hosting import ANSWER_API, SEARCH_API, Api, ComponentHost, Requirement
from ragline_common.ports.broker import Delivery, Handler
from ragline_common.topology import INTAKE_API_KEY_HEADER, QueueName
from ragline_gateway.component import GatewayComponent
from ragline_gateway.domain.intake_message import SCHEMA_V1
from ragline_gateway.settings import GatewaySettings


@dataclass
class PeersWithoutWorker:
    """Retrieval and generation in-process; no ingestion worker, so every job stays queued."""

    name: str = "peers-without-worker"
    provides: tuple[Api[Any], ...] = (SEARCH_API, ANSWER_API)
    requires: tuple[Requirement[Any], ...] = ()

    def routers(self, *, internal_api: bool) -> Sequence[APIRouter]:
        return []

    def middleware(self) -> Sequence[Middleware]:
        return []

    async def start(self, host: ComponentHost) -> None:
        host.provide(SEARCH_API, FakeSearch())
        host.provide(ANSWER_API, FakeAnswers())


@dataclass
class Gateway:
    http: httpx.AsyncClient
    intake: Handler


def _gateway_fixture(settings: GatewaySettings) -> object:
    @pytest.fixture
    async def gateway(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Gateway]:
        handlers: dict[QueueName, Handler] = {}
        subscribe = MemoryBroker.consume

        async def consume(
            self: MemoryBroker, queue: QueueName, handler: Handler, *, prefetch: int
        ) -> None:
            handlers[queue] = handler
            await subscribe(self, queue, handler, prefetch=prefetch)

        monkeypatch.setattr(MemoryBroker, "consume", consume)
        app = assemble_app(
            [PeersWithoutWorker(), GatewayComponent(settings)], infrastructure(tmp_path)
        )
        async with LifespanManager(app) as manager:
            transport = httpx.ASGITransport(app=manager.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
                yield Gateway(http, handlers[QueueName.INTAKE])

    return gateway


rate_limited_gateway = _gateway_fixture(
    GatewaySettings(max_upload_bytes=64 * 1024, ingest_per_minute=3, query_per_minute=1000)
)
backlogged_gateway = _gateway_fixture(
    # A backlog of eight jobs in all; a quarter of it (two) is one tenant's share.
    GatewaySettings(
        max_upload_bytes=64 * 1024,
        ingest_per_minute=1000,
        query_per_minute=1000,
        ingest_backlog_limit=8,
    )
)

share_set_gateway = _gateway_fixture(
    # The share set explicitly (RAGLINE_GATEWAY_INGEST_BACKLOG_PER_TENANT), not a quarter.
    GatewaySettings(
        max_upload_bytes=64 * 1024,
        ingest_per_minute=1000,
        query_per_minute=1000,
        ingest_backlog_limit=100,
        ingest_backlog_per_tenant=3,
    )
)


async def _tenant(http: httpx.AsyncClient, name: str) -> Tenant:
    admin = bearer(ADMIN_TOKEN)
    created = await http.post("/v1/tenants", json={"name": name}, headers=admin)
    assert created.status_code == 201, created.text
    tenant_id = created.json()["id"]
    key = await http.post(
        f"/v1/tenants/{tenant_id}/keys", json={"scopes": ["ingest", "query"]}, headers=admin
    )
    assert key.status_code == 201, key.text
    return Tenant(tenant_id, key.json()["key"], key.json()["key"])


async def _upload(http: httpx.AsyncClient, tenant: Tenant, n: int) -> httpx.Response:
    return await http.post(
        "/v1/documents",
        json={"title": f"Note {n}", "text": f"Note number {n} of {tenant.id}."},
        headers=bearer(tenant.key),
    )


def _intake_message(tenant: Tenant, n: int) -> Delivery:
    body = {"schema": SCHEMA_V1, "title": f"Dropped {n}", "text": f"Dropped note {n}."}
    return Delivery(
        body=json.dumps(body).encode(),
        routing_key="document",
        headers={INTAKE_API_KEY_HEADER: tenant.key},
    )


async def _documents(http: httpx.AsyncClient, tenant: Tenant) -> int:
    listed = await http.get("/v1/documents", headers=bearer(tenant.key))
    assert listed.status_code == 200, listed.text
    return len(listed.json()["documents"])


async def test_a_tenant_over_its_ingest_rate_is_refused_by_both_doors_and_others_are_not(
    rate_limited_gateway: Gateway,
) -> None:
    http, intake = rate_limited_gateway.http, rate_limited_gateway.intake
    flooder, other = await _tenant(http, "flooder"), await _tenant(http, "other")

    statuses = [(await _upload(http, flooder, n)).status_code for n in range(4)]
    assert statuses == [202, 202, 202, 429]
    # The queue drop counts against the same per-tenant budget: later, not never.
    with pytest.raises(TransientProcessingError, match="Rate limit"):
        await intake(_intake_message(flooder, 1))
    assert await _documents(http, flooder) == 3

    assert (await _upload(http, other, 1)).status_code == 202
    await intake(_intake_message(other, 1))
    assert await _documents(http, other) == 2


async def test_a_tenant_over_its_backlog_share_is_refused_before_the_backlog_is_full(
    backlogged_gateway: Gateway,
) -> None:
    http, intake = backlogged_gateway.http, backlogged_gateway.intake
    flooder, other = await _tenant(http, "flooder"), await _tenant(http, "other")

    assert [(await _upload(http, flooder, n)).status_code for n in range(2)] == [202, 202]
    refused = await _upload(http, flooder, 2)
    assert refused.status_code == 429, refused.text
    assert refused.json()["code"] == "tenant_backlog_full"
    assert int(refused.headers["Retry-After"]) > 0
    with pytest.raises(TransientProcessingError, match="backlog"):
        await intake(_intake_message(flooder, 1))
    assert await _documents(http, flooder) == 2

    # Four unfinished jobs of eight: the other tenant still gets in, by either door.
    assert (await _upload(http, other, 1)).status_code == 202
    await intake(_intake_message(other, 1))
    assert await _documents(http, other) == 2


async def test_the_tenant_share_of_the_backlog_is_a_setting(share_set_gateway: Gateway) -> None:
    http = share_set_gateway.http
    flooder = await _tenant(http, "flooder")

    statuses = [(await _upload(http, flooder, n)).status_code for n in range(4)]
    assert statuses == [202, 202, 202, 429]
