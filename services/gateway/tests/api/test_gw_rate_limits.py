"""Rate limiting at the gateway (in-memory limiter; the Redis one has its own tests)."""

from __future__ import annotations

import httpx
import pytest
from gw_harness import bearer, make_tenant
from test_gw_api import assert_problem

from ragline_gateway.settings import GatewaySettings


@pytest.fixture
def gateway_settings() -> GatewaySettings:
    return GatewaySettings(max_upload_bytes=64 * 1024, query_per_minute=3, ingest_per_minute=1000)


async def test_rate_limit_headers_and_429(client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(client, "limited")
    statuses = []
    for _ in range(4):
        response = await client.post("/v1/search", json={"query": "x"}, headers=bearer(tenant.key))
        statuses.append(response.status_code)
        assert response.headers["RateLimit-Policy"] == '"query";q=3;w=60'
        assert response.headers["RateLimit"].startswith('"query";r=')
    assert statuses == [200, 200, 200, 429]
    assert int(response.headers["Retry-After"]) >= 1
    assert_problem(response, 429, "rate_limited")
