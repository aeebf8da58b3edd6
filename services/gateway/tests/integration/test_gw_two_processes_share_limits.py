"""Two gateway processes on one Redis enforce one rate limit together (real Redis, real
processes: ``ragline run --target gateway`` twice, sharing a catalog and a key pepper)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ragline_testing.harness import require_service
from ragline_testing.process import RaglineProcess

pytestmark = pytest.mark.integration
ADMIN_TOKEN = "operator-token-" + secrets.token_hex(16)
PEPPER = secrets.token_hex(32)


@pytest.fixture
def two_gateways(tmp_path: Path) -> Iterator[list[str]]:
    require_service("127.0.0.1", 6379, "Redis")
    # Started together, as replicas are: same pepper and operator token from the environment,
    # one SQLite catalog file (migrations serialise on it).
    env = {
        "RAGLINE_DATA_DIR": str(tmp_path),
        "RAGLINE_ADMIN_TOKEN": ADMIN_TOKEN,
        "RAGLINE_GATEWAY_KEY_PEPPER": PEPPER,
        "RAGLINE_BROKER_KIND": "memory",
        "RAGLINE_LOG_LEVEL": "warning",
        "RAGLINE_SHUTDOWN_GRACE_S": "1",
        "RAGLINE_GATEWAY_RATE_LIMITER": "redis",
        "RAGLINE_GATEWAY_REDIS_URL": "redis://127.0.0.1:6379/0",
    }
    gateways = [
        RaglineProcess(
            "gateway",
            env,
            tmp_path / f"gateway-{index}.log",
            ready_timeout_s=60,
            ready_path="/healthz",  # no retrieval behind these gateways: never "ready"
        )
        for index in range(2)
    ]
    try:
        for gateway in gateways:
            gateway.start(wait=False)
        for gateway in gateways:
            gateway.wait_ready(gateway.ready_timeout_s)
        yield [gateway.url for gateway in gateways]
    finally:
        for gateway in gateways:
            gateway.stop()


def test_two_gateway_processes_enforce_one_limit_together(two_gateways: list[str]) -> None:
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    first, second = two_gateways
    tenant = httpx.post(f"{first}/v1/tenants", json={"name": "shared"}, headers=admin).json()
    limits = {"rate_limits": {"query_per_minute": 10}}
    patched = httpx.patch(f"{first}/v1/tenants/{tenant['id']}", json=limits, headers=admin)
    assert patched.status_code == 200
    key = httpx.post(
        f"{first}/v1/tenants/{tenant['id']}/keys", json={"scopes": ["query"]}, headers=admin
    ).json()["key"]
    auth = {"Authorization": f"Bearer {key}"}

    responses = [
        httpx.get(f"{(first, second)[i % 2]}/v1/documents", headers=auth) for i in range(16)
    ]
    statuses = [response.status_code for response in responses]
    assert statuses.count(200) == 10, statuses
    assert statuses[10:] == [429] * 6, statuses
    # Both processes served some of the ten and refused afterwards: one count, not two.
    assert {200, 429} <= {r.status_code for r in responses[0::2]}
    assert {200, 429} <= {r.status_code for r in responses[1::2]}
    assert responses[9].headers["RateLimit"].startswith('"query";r=0;')
    assert responses[-1].headers["RateLimit-Policy"] == '"query";q=10;w=60'
    assert int(responses[-1].headers["Retry-After"]) >= 1
