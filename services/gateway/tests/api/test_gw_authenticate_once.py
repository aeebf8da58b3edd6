"""One authentication per request, even when the idempotency middleware needs the tenant first.

The middleware (which scopes an ``Idempotency-Key`` to the key's tenant) and the route's
dependency share one outcome, so the key is looked up once, and a refusal is counted once
against the client's address. The key cache is off here, so every lookup reaches the catalog.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from gw_front_door import gateway
from gw_harness import bearer, make_tenant
from test_gw_api import assert_problem

from ragline_gateway.adapters.catalog import SqlCatalog
from ragline_gateway.domain import api_keys
from ragline_gateway.ports.catalog import ApiKeyRecord
from ragline_gateway.settings import GatewaySettings

SETTINGS = GatewaySettings(key_cache_ttl_s=0, unauthenticated_per_minute=2)


@pytest.fixture
def key_lookups(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The key hashes the catalog is asked for, in order."""
    asked: list[str] = []
    lookup = SqlCatalog.find_api_key

    async def counted(self: SqlCatalog, key_hash: str) -> ApiKeyRecord | None:
        asked.append(key_hash)
        return await lookup(self, key_hash)

    monkeypatch.setattr(SqlCatalog, "find_api_key", counted)
    return asked


async def test_a_request_with_an_idempotency_key_looks_its_key_up_once(
    tmp_path: Path, key_lookups: list[str]
) -> None:
    async with gateway(tmp_path, SETTINGS) as client:
        tenant = await make_tenant(client, "acme")
        for attempt in ("first", "replayed"):
            key_lookups.clear()
            upload = await client.post(
                "/v1/documents",
                json={"text": "hello world"},
                headers={**bearer(tenant.key), "Idempotency-Key": "upload-1"},
            )
            assert upload.status_code == 202, (attempt, upload.text)
            assert len(key_lookups) == 1, attempt
        assert upload.headers["Idempotent-Replayed"] == "true"

        key_lookups.clear()
        answer = await client.post(
            "/v1/query",
            json={"query": "hello"},
            headers={**bearer(tenant.query_key), "Idempotency-Key": "query-1"},
        )
        assert answer.status_code == 200, answer.text
        assert len(key_lookups) == 1


async def test_a_refused_key_with_an_idempotency_key_is_counted_once(
    tmp_path: Path, key_lookups: list[str]
) -> None:
    """Two failures are allowed per address and window; counted twice each, the second guess
    would already be a 429. Once the address is refused, no key is looked up at all. The
    guess is well formed (its checksum holds), so the lookup refuses it, not the checksum."""
    async with gateway(tmp_path, SETTINGS) as client:
        guess = {**bearer(api_keys.generate_key()), "Idempotency-Key": "guess"}
        for remaining in (1, 0):
            key_lookups.clear()
            refused = await client.post("/v1/documents", json={"text": "x"}, headers=guess)
            assert_problem(refused, 401, "invalid_api_key")
            assert refused.headers["RateLimit"].startswith(f'"unauthenticated";r={remaining};')
            assert len(key_lookups) == 1
        over_budget = await client.post("/v1/documents", json={"text": "x"}, headers=guess)
        assert_problem(over_budget, 429, "rate_limited")
        key_lookups.clear()
        refused_outright = await client.post("/v1/documents", json={"text": "x"}, headers=guess)
        assert_problem(refused_outright, 429, "rate_limited")
        assert key_lookups == []
