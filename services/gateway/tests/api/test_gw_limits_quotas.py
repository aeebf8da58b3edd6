"""Per-tenant rate limits, quotas and ingestion backpressure at the front door."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import httpx
from gw_front_door import ADMIN, gateway, new_key, patch_tenant
from gw_harness import FakeAnswers, FakePeers, FakeSearch, bearer, infrastructure, make_tenant
from test_gw_api import assert_problem

from ragline_common.hosting import ANSWER_API, SEARCH_API, ComponentHost
from ragline_common.observability.metrics import REGISTRY
from ragline_common.tenancy import TenantId
from ragline_gateway.adapters.catalog import SqlCatalog
from ragline_gateway.ports.catalog import UsageDelta
from ragline_gateway.settings import GatewaySettings


def _settings(**overrides: object) -> GatewaySettings:
    values: dict[str, object] = {"max_upload_bytes": 64 * 1024}
    return GatewaySettings(**(values | overrides))


async def _search(client: httpx.AsyncClient, key: str) -> httpx.Response:
    return await client.post("/v1/search", json={"query": "x"}, headers=bearer(key))


async def _upload(
    client: httpx.AsyncClient, key: str, text: str, **extra: object
) -> httpx.Response:
    return await client.post("/v1/documents", json={"text": text, **extra}, headers=bearer(key))


async def test_the_operator_sets_a_tenants_rate_limits_and_they_bind_at_once(
    tmp_path: Path,
) -> None:
    async with gateway(tmp_path, _settings()) as client:
        tight = await make_tenant(client, "tight")
        roomy = await make_tenant(client, "roomy")
        detail = await patch_tenant(
            client, tight.id, {"rate_limits": {"query_per_minute": 2, "ingest_per_minute": 5}}
        )
        assert detail["rate_limits"] == {"query_per_minute": 2, "ingest_per_minute": 5}

        statuses = [(await _search(client, tight.key)).status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
        refused = await _search(client, tight.key)
        assert_problem(refused, 429, "rate_limited")
        assert int(refused.headers["Retry-After"]) >= 1
        assert refused.headers["RateLimit-Policy"] == '"query";q=2;w=60'
        # The tenant total binds every key of the tenant; other tenants are untouched.
        assert (await _search(client, tight.query_key)).status_code == 429
        assert (await _search(client, roomy.key)).status_code == 200
        # Ingest is a separate bucket.
        assert (await _upload(client, tight.key, "still allowed")).status_code == 202

        # null returns to the gateway default.
        reset = await patch_tenant(client, tight.id, {"rate_limits": {"query_per_minute": None}})
        assert reset["rate_limits"]["query_per_minute"] == GatewaySettings().query_per_minute
        assert reset["rate_limits"]["ingest_per_minute"] == 5


async def test_each_key_is_limited_on_its_own_too(tmp_path: Path) -> None:
    async with gateway(tmp_path, _settings(query_per_minute=2)) as client:
        tenant = await make_tenant(client, "acme")
        assert [(await _search(client, tenant.key)).status_code for _ in range(2)] == [200, 200]
        # A third key has its own count but shares the tenant's, which is spent.
        extra = (await new_key(client, tenant.id, ["query"]))["key"]
        assert_problem(await _search(client, extra), 429, "rate_limited")


async def test_only_the_operator_changes_limits_and_bodies_are_strict(tmp_path: Path) -> None:
    async with gateway(tmp_path, _settings()) as client:
        tenant = await make_tenant(client, "acme")
        admin_key = (await new_key(client, tenant.id, ["admin"]))["key"]
        path = f"/v1/tenants/{tenant.id}"
        body = {"rate_limits": {"query_per_minute": 100000}}
        assert_problem(
            await client.patch(path, json=body, headers=bearer(admin_key)), 403, "operator_only"
        )
        for bad in (
            {"rate_limits": {"query_per_minute": 0}},
            {"rate_limits": {"queries": 3}},
            {"tenant_id": "ten_other"},
            {"quotas": {"documents": -1}},
        ):
            assert_problem(
                await client.patch(path, json=bad, headers=ADMIN), 422, "validation_failed"
            )
        missing = await client.patch("/v1/tenants/ten_missing", json=body, headers=ADMIN)
        assert_problem(missing, 404, "tenant_not_found")
        # The tenant's admin key may read its limits.
        seen = await client.get(path, headers=bearer(admin_key))
        assert seen.status_code == 200 and "quotas" in seen.json()


async def test_rate_limit_headers_are_on_error_responses_too(tmp_path: Path) -> None:
    async with gateway(tmp_path, _settings(query_per_minute=50)) as client:
        tenant = await make_tenant(client, "acme")
        missing = await client.get("/v1/documents/doc_missing", headers=bearer(tenant.key))
        assert_problem(missing, 404, "document_not_found")
        assert missing.headers["RateLimit-Policy"] == '"query";q=50;w=60'
        assert missing.headers["RateLimit"].startswith('"query";r=49;t=')
        invalid = await client.post("/v1/search", json={"query": ""}, headers=bearer(tenant.key))
        assert invalid.status_code == 422
        assert "RateLimit" in invalid.headers


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_limiter_down_fails_closed_with_503_by_default(tmp_path: Path) -> None:
    # Nothing listens on port 1: the real Redis adapter fails at once.
    down = {"rate_limiter": "redis", "redis_url": "redis://127.0.0.1:1/0"}
    async with gateway(tmp_path, _settings(**down)) as client:
        tenant = await make_tenant(client, "acme")
        before = _sample("ragline_gateway_rate_limiter_unavailable_total", mode="closed")
        response = await _search(client, tenant.key)
        assert_problem(response, 503, "rate_limiter_unavailable")
        assert int(response.headers["Retry-After"]) >= 1
        assert (
            _sample("ragline_gateway_rate_limiter_unavailable_total", mode="closed") == before + 1
        )


async def test_limiter_down_fails_open_when_configured(tmp_path: Path) -> None:
    down = {"rate_limiter": "redis", "redis_url": "redis://127.0.0.1:1/0"}
    async with gateway(tmp_path, _settings(**down, rate_limit_failure_mode="open")) as client:
        tenant = await make_tenant(client, "acme")
        before = _sample("ragline_gateway_rate_limiter_unavailable_total", mode="open")
        response = await _search(client, tenant.key)
        assert response.status_code == 200
        assert response.headers["RateLimit-Policy"].startswith('"query";q=')
        assert _sample("ragline_gateway_rate_limiter_unavailable_total", mode="open") == before + 1


async def test_document_and_storage_quotas(tmp_path: Path) -> None:
    async with gateway(tmp_path, _settings()) as client:
        tenant = await make_tenant(client, "acme")
        await patch_tenant(client, tenant.id, {"quotas": {"documents": 2, "stored_bytes": 100}})
        assert (await _upload(client, tenant.key, "a" * 10, external_id="one")).status_code == 202
        assert (await _upload(client, tenant.key, "b" * 10)).status_code == 202
        third = await _upload(client, tenant.key, "c" * 10)
        assert_problem(third, 429, "quota_exceeded")
        assert "2 documents" in third.json()["detail"]
        # A new version of an existing document adds no document.
        assert (await _upload(client, tenant.key, "A" * 60, external_id="one")).status_code == 202
        too_big = await _upload(client, tenant.key, "B" * 95, external_id="one")
        assert_problem(too_big, 429, "quota_exceeded")
        assert "storage quota" in too_big.json()["detail"]
        # Deleting frees the quota.
        listed = (await client.get("/v1/documents", headers=bearer(tenant.key))).json()
        victim = next(d for d in listed["documents"] if d["external_id"] is None)
        deleted = await client.delete(f"/v1/documents/{victim['id']}", headers=bearer(tenant.key))
        assert deleted.status_code == 204
        assert (await _upload(client, tenant.key, "c" * 10)).status_code == 202


async def test_llm_tokens_per_day_quota(tmp_path: Path) -> None:
    async with gateway(tmp_path, _settings(quota_llm_tokens_per_day=1000)) as client:
        tenant = await make_tenant(client, "acme")
        other = await make_tenant(client, "other")
        query = {"query": "what?"}
        assert (
            await client.post("/v1/query", json=query, headers=bearer(tenant.key))
        ).status_code == 200
        catalog = SqlCatalog(infrastructure(tmp_path).catalog.resolved_url(tmp_path), pool_size=1)
        await catalog.open()
        try:
            await catalog.record_usage(
                TenantId(tenant.id),
                UsageDelta(
                    model="m",
                    prompt_tokens=900,
                    completion_tokens=100,
                    cost_micro_usd=0,
                    degraded=False,
                ),
                when=datetime.now(UTC),
            )
        finally:
            await catalog.close()
        await asyncio.sleep(1.05)  # past the key directory's cache
        refused = await client.post("/v1/query", json=query, headers=bearer(tenant.key))
        assert_problem(refused, 429, "quota_exceeded")
        assert 1 <= int(refused.headers["Retry-After"]) <= 86400
        assert (
            await client.post("/v1/query", json=query, headers=bearer(other.key))
        ).status_code == 200
        # Search spends no tokens and stays available.
        assert (await _search(client, tenant.key)).status_code == 200
        # The operator raises this tenant's quota.
        await patch_tenant(client, tenant.id, {"quotas": {"llm_tokens_per_day": 5000}})
        assert (
            await client.post("/v1/query", json=query, headers=bearer(tenant.key))
        ).status_code == 200


class _IdleWorker(FakePeers):
    """Plays retrieval and generation but never consumes the ingestion queue: a backlog."""

    async def start(self, host: ComponentHost) -> None:
        host.provide(SEARCH_API, self.search)
        host.provide(ANSWER_API, self.answers)


async def test_uploads_get_503_when_the_ingestion_backlog_is_full(tmp_path: Path) -> None:
    peers = _IdleWorker(FakeSearch(), FakeAnswers())
    async with gateway(tmp_path, _settings(ingest_backlog_limit=2), peers) as client:
        # One tenant may hold only its share of the backlog (here one job): it takes two.
        other = await make_tenant(client, "other")
        assert (await _upload(client, other.key, "one")).status_code == 202
        tenant = await make_tenant(client, "acme")
        assert (await _upload(client, tenant.key, "two")).status_code == 202
        await asyncio.sleep(1.05)  # the backlog is sampled at most once a second
        newcomer = await make_tenant(client, "newcomer")
        refused = await _upload(client, newcomer.key, "three")
        assert_problem(refused, 503, "ingestion_backlog_full")
        assert int(refused.headers["Retry-After"]) >= 1
        listed = (await client.get("/v1/documents", headers=bearer(tenant.key))).json()
        assert len(listed["documents"]) == 1
        # Reading is not refused.
        assert (await _search(client, tenant.key)).status_code == 200
