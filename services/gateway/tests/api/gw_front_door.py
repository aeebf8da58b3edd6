"""Helpers of the front-door suites (issue 6): more than one gateway on one catalog, admin calls."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from gw_harness import ADMIN_TOKEN, FakeAnswers, FakePeers, FakeSearch, infrastructure

from ragline_cli.assembly import assemble_app
from ragline_gateway.component import GatewayComponent
from ragline_gateway.settings import GatewaySettings

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@asynccontextmanager
async def gateway(
    data_dir: Path, settings: GatewaySettings, peers: FakePeers | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    """One gateway replica; replicas given the same ``data_dir`` share the SQLite catalog
    and the key pepper, as replicas sharing a PostgreSQL catalog do."""
    peers = peers or FakePeers(FakeSearch(), FakeAnswers())
    app = assemble_app([peers, GatewayComponent(settings)], infrastructure(data_dir))
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
            yield http


async def new_key(
    client: httpx.AsyncClient, tenant_id: str, scopes: list[str], **extra: Any
) -> dict[str, Any]:
    response = await client.post(
        f"/v1/tenants/{tenant_id}/keys", json={"scopes": scopes, **extra}, headers=ADMIN
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def patch_tenant(client: httpx.AsyncClient, tenant_id: str, body: dict[str, Any]) -> Any:
    response = await client.patch(f"/v1/tenants/{tenant_id}", json=body, headers=ADMIN)
    assert response.status_code == 200, response.text
    return response.json()
