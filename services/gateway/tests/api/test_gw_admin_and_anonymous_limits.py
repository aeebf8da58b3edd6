"""Rate limits on the doors the tenant buckets do not cover: tenant and dead-letter management
(per principal: the operator, or one admin key) and requests that fail to authenticate (per
client address, so guessing keys is throttled). Both answer like every other limit: 429 with
``Retry-After`` and the IETF ``RateLimit`` headers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from asgi_lifespan import LifespanManager
from gw_front_door import ADMIN, new_key
from gw_harness import FakeAnswers, FakePeers, FakeSearch, bearer, infrastructure, make_tenant
from test_gw_api import assert_problem

from ragline_cli.assembly import assemble_app
from ragline_gateway.component import GatewayComponent
from ragline_gateway.settings import GatewaySettings

_SETTINGS = GatewaySettings(admin_per_minute=3, unauthenticated_per_minute=3)


@asynccontextmanager
async def _gateway(
    data_dir: Path, settings: GatewaySettings = _SETTINGS
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    """One gateway, and two clients of it from different addresses."""
    peers = FakePeers(FakeSearch(), FakeAnswers())
    app = assemble_app([peers, GatewayComponent(settings)], infrastructure(data_dir))
    async with LifespanManager(app) as manager:
        here = httpx.ASGITransport(app=manager.app, client=("192.0.2.1", 40000))
        there = httpx.ASGITransport(app=manager.app, client=("192.0.2.2", 40000))
        async with (
            httpx.AsyncClient(transport=here, base_url="http://gateway") as first,
            httpx.AsyncClient(transport=there, base_url="http://gateway") as second,
        ):
            yield first, second


def _assert_limited(response: httpx.Response, bucket: str) -> None:
    assert_problem(response, 429, "rate_limited")
    assert int(response.headers["Retry-After"]) >= 1
    assert response.headers["RateLimit-Policy"] == f'"{bucket}";q=3;w=60'
    assert response.headers["RateLimit"].startswith(f'"{bucket}";r=0;t=')


async def test_the_operator_and_each_admin_key_have_their_own_admin_budget(
    tmp_path: Path,
) -> None:
    async with _gateway(tmp_path) as (client, _):
        created = await client.post("/v1/tenants", json={"name": "t"}, headers=ADMIN)
        assert created.status_code == 201, created.text
        tenant_id = created.json()["id"]
        admin_key = (await new_key(client, tenant_id, ["admin"]))["key"]
        # Two operator calls so far (create, key); the third passes, the fourth is refused.
        listed = await client.get("/v1/tenants", headers=ADMIN)
        assert listed.status_code == 200
        assert listed.headers["RateLimit-Policy"] == '"admin";q=3;w=60'
        assert listed.headers["RateLimit"].startswith('"admin";r=0;t=')
        _assert_limited(await client.get("/v1/tenants", headers=ADMIN), "admin")
        _assert_limited(await client.get("/v1/admin/dead-letters", headers=ADMIN), "admin")

        # The tenant's admin key is another principal: its own three, on every admin route.
        statuses = [
            (await client.get(path, headers=bearer(admin_key))).status_code
            for path in (
                f"/v1/tenants/{tenant_id}/keys",
                "/v1/admin/dead-letters",
                f"/v1/tenants/{tenant_id}",
            )
        ]
        assert statuses == [200, 200, 200]
        refused = await client.delete("/v1/admin/dead-letters", headers=bearer(admin_key))
        _assert_limited(refused, "admin")


async def test_failed_authentication_is_throttled_per_client_address(tmp_path: Path) -> None:
    async with _gateway(tmp_path) as (client, elsewhere):
        # The operator's calls and a valid key's calls never count as failures.
        tenant = await make_tenant(client, "t")
        search = {"json": {"query": "x"}, "headers": bearer(tenant.query_key)}
        for _ in range(5):
            assert (await client.post("/v1/search", **search)).is_success
        guesses = [
            await client.get("/v1/documents", headers=bearer("rl_not-a-real-key")),
            await client.get("/v1/documents"),
            await client.post("/v1/search", json={"query": "x"}, headers=bearer("garbage")),
        ]
        for response in guesses:
            assert response.status_code == 401, response.text
            assert response.headers["RateLimit-Policy"] == '"unauthenticated";q=3;w=60'
        guess = await client.get("/v1/documents", headers=bearer("rl_guess"))
        _assert_limited(guess, "unauthenticated")
        # Past the budget the address is refused before any key is looked at: even a right
        # guess earns nothing until the window ends.
        right = await client.post("/v1/search", **search)
        assert_problem(right, 429, "rate_limited")
        assert int(right.headers["Retry-After"]) >= 1
        # Another address is not affected, and is counted on its own.
        assert (await elsewhere.post("/v1/search", **search)).is_success
        assert (await elsewhere.get("/v1/documents")).status_code == 401


async def test_with_the_limiter_down_management_goes_on_and_failures_fail_closed(
    tmp_path: Path,
) -> None:
    """Revoking a leaked key must not wait for Redis; a failed authentication still cannot be
    counted, so it gets the configured (closed) answer."""
    down = GatewaySettings(rate_limiter="redis", redis_url="redis://127.0.0.1:1/0")
    async with _gateway(tmp_path, down) as (client, _):
        tenant = await make_tenant(client, "t")
        keys = (await client.get(f"/v1/tenants/{tenant.id}/keys", headers=ADMIN)).json()
        revoked = await client.delete(
            f"/v1/tenants/{tenant.id}/keys/{keys[0]['id']}", headers=ADMIN
        )
        assert revoked.status_code == 204
        assert_problem(await client.get("/v1/documents"), 503, "rate_limiter_unavailable")
