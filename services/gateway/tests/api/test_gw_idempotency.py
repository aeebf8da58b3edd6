"""Idempotency-Key on uploads and queries: replay, misuse (422), concurrent use (409)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from gw_front_door import gateway
from gw_harness import FakeAnswers, FakePeers, FakeSearch, bearer, make_tenant
from test_gw_api import assert_problem

from ragline_common.contracts.answer import Answer, AnswerRequest
from ragline_common.errors import UpstreamUnavailable
from ragline_common.tenancy import TenantId
from ragline_gateway.adapters.catalog import SqlCatalog
from ragline_gateway.settings import GatewaySettings

SETTINGS = GatewaySettings(max_upload_bytes=64 * 1024)


def _headers(key: str, idempotency_key: str) -> dict[str, str]:
    return {**bearer(key), "Idempotency-Key": idempotency_key}


async def _count_documents(client: httpx.AsyncClient, key: str) -> int:
    listed = (await client.get("/v1/documents", headers=bearer(key))).json()
    return len(listed["documents"])


async def test_a_retried_upload_returns_the_original_response(tmp_path: Path) -> None:
    async with gateway(tmp_path, SETTINGS) as client:
        tenant = await make_tenant(client, "acme")
        body = {"text": "hello world", "title": "greeting"}
        first = await client.post("/v1/documents", json=body, headers=_headers(tenant.key, "k-1"))
        second = await client.post("/v1/documents", json=body, headers=_headers(tenant.key, "k-1"))
        assert first.status_code == second.status_code == 202
        assert second.json() == first.json()
        assert second.headers["Idempotent-Replayed"] == "true"
        assert "Idempotent-Replayed" not in first.headers
        assert await _count_documents(client, tenant.key) == 1

        other = await client.post(
            "/v1/documents", json={"text": "something else"}, headers=_headers(tenant.key, "k-1")
        )
        assert_problem(other, 422, "idempotency_key_reused")
        assert await _count_documents(client, tenant.key) == 1


async def test_multipart_retries_match_whatever_boundary_the_client_picks(tmp_path: Path) -> None:
    async with gateway(tmp_path, SETTINGS) as client:
        tenant = await make_tenant(client, "acme")
        responses = []
        for boundary in ("boundary-one", "another-boundary"):
            files = {"file": ("notes.txt", b"the same bytes", "text/plain")}
            request = client.build_request(
                "POST", "/v1/documents", files=files, headers=_headers(tenant.key, "upload-7")
            )
            old = request.headers["content-type"].split("boundary=")[1]
            content = request.read().replace(old.encode(), boundary.encode())
            request = client.build_request(
                "POST",
                "/v1/documents",
                content=content,
                headers={
                    **_headers(tenant.key, "upload-7"),
                    "Content-Type": f"multipart/form-data; boundary={boundary}",
                },
            )
            responses.append(await client.send(request))
        assert [r.status_code for r in responses] == [202, 202]
        assert responses[1].json() == responses[0].json()
        assert responses[1].headers.get("Idempotent-Replayed") == "true"


async def test_keys_belong_to_one_tenant(tmp_path: Path) -> None:
    async with gateway(tmp_path, SETTINGS) as client:
        acme = await make_tenant(client, "acme")
        other = await make_tenant(client, "other")
        first = await client.post(
            "/v1/documents", json={"text": "acme's"}, headers=_headers(acme.key, "shared")
        )
        theirs = await client.post(
            "/v1/documents", json={"text": "other's"}, headers=_headers(other.key, "shared")
        )
        assert first.status_code == theirs.status_code == 202
        assert "Idempotent-Replayed" not in theirs.headers
        assert theirs.json()["document_id"] != first.json()["document_id"]


class _GatedAnswers(FakeAnswers):
    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.release = asyncio.Event()
        self.calls = 0

    async def answer(self, tenant_id: TenantId, request: AnswerRequest) -> Answer:
        self.calls += 1
        self.entered.set()
        await self.release.wait()
        return await super().answer(tenant_id, request)


async def test_a_query_still_running_answers_409_then_replays(tmp_path: Path) -> None:
    answers = _GatedAnswers()
    peers = FakePeers(FakeSearch(), answers)
    async with gateway(tmp_path, SETTINGS, peers) as client:
        tenant = await make_tenant(client, "acme")
        body = {"query": "what is it?"}
        first = asyncio.create_task(
            client.post("/v1/query", json=body, headers=_headers(tenant.query_key, "q-1"))
        )
        await asyncio.wait_for(answers.entered.wait(), timeout=10)
        busy = await client.post("/v1/query", json=body, headers=_headers(tenant.query_key, "q-1"))
        assert_problem(busy, 409, "idempotency_key_in_use")
        assert busy.headers["Retry-After"] == "1"
        answers.release.set()
        original = await first
        assert original.status_code == 200
        replay = await client.post(
            "/v1/query", json=body, headers=_headers(tenant.query_key, "q-1")
        )
        assert replay.json() == original.json()
        assert answers.calls == 1


async def test_refusals_a_retry_may_overcome_are_not_kept(tmp_path: Path) -> None:
    async with gateway(
        tmp_path, GatewaySettings(max_upload_bytes=64 * 1024, query_per_minute=1)
    ) as client:
        tenant = await make_tenant(client, "acme")
        body = {"query": "q"}
        assert (
            await client.post("/v1/search", json=body, headers=bearer(tenant.query_key))
        ).status_code == 200
        limited = await client.post("/v1/query", json=body, headers=_headers(tenant.query_key, "r"))
        assert_problem(limited, 429, "rate_limited")
        # Not replayed: the same key is free for the retry (which is limited again, afresh).
        again = await client.post("/v1/query", json=body, headers=_headers(tenant.query_key, "r"))
        assert_problem(again, 429, "rate_limited")
        assert "Idempotent-Replayed" not in again.headers


async def test_malformed_idempotency_keys_are_refused(tmp_path: Path) -> None:
    async with gateway(tmp_path, SETTINGS) as client:
        tenant = await make_tenant(client, "acme")
        for bad in ("x" * 256, "has space"):
            response = await client.post(
                "/v1/documents", json={"text": "t"}, headers=_headers(tenant.key, bad)
            )
            assert_problem(response, 400, "invalid_idempotency_key")
        # Without a valid API key the key is not even looked at: the route answers 401.
        anonymous = await client.post(
            "/v1/documents", json={"text": "t"}, headers={"Idempotency-Key": "k"}
        )
        assert anonymous.status_code == 401


async def test_a_catalog_outage_at_the_claim_is_a_503_like_the_apps_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The middleware answers outside the app's exception handlers, with the same body and
    the same Retry-After as they give the same error (one problem builder for both)."""

    async def catalog_down(*_args: object, **_kwargs: object) -> None:
        raise UpstreamUnavailable("The catalog is unavailable.", retry_after_s=7.4)

    async with gateway(tmp_path, SETTINGS) as client:
        tenant = await make_tenant(client, "acme")
        monkeypatch.setattr(SqlCatalog, "claim_idempotency_key", catalog_down)
        response = await client.post(
            "/v1/documents", json={"text": "t"}, headers=_headers(tenant.key, "k")
        )

    assert_problem(response, 503, "upstream_unavailable")
    assert response.headers["Retry-After"] == "7"
    assert response.json() == {
        "type": "https://ragline.dev/problems/upstream_unavailable",
        "title": "A dependency is unavailable",
        "status": 503,
        "detail": "The catalog is unavailable.",
        "code": "upstream_unavailable",
        "trace_id": response.json()["trace_id"],
    }
