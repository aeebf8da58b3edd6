"""``GET /v1/usage`` shows indexing's embedding tokens (per day and in the totals) beside the
answers' usage, without adding to the request count or to the daily LLM-token quota."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from gw_harness import EMBEDDING_MODEL, FakeAnswers, FakePeers, FakeSearch, bearer, make_tenant

TOKENS_PER_DOCUMENT = 12


@pytest.fixture
def peers() -> FakePeers:
    return FakePeers(FakeSearch(), FakeAnswers(), embedding_tokens=TOKENS_PER_DOCUMENT)


async def wait_indexed(client: httpx.AsyncClient, key: str, job_id: str) -> None:
    for _ in range(200):
        job = (await client.get(f"/v1/jobs/{job_id}", headers=bearer(key))).json()
        if job["status"] == "indexed":
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"job {job_id} was never indexed: {job}")


async def test_usage_shows_embedding_tokens_beside_answers(client: httpx.AsyncClient) -> None:
    alpha, beta = await make_tenant(client, "alpha"), await make_tenant(client, "beta")
    for text in ("Refunds are paid within 14 days.", "Shipping takes three days."):
        upload = await client.post("/v1/documents", json={"text": text}, headers=bearer(alpha.key))
        assert upload.status_code == 202, upload.text
        await wait_indexed(client, alpha.key, upload.json()["job_id"])
    answer = await client.post(
        "/v1/query", json={"query": "refunds"}, headers=bearer(alpha.query_key)
    )
    assert answer.status_code == 200, answer.text

    usage = (await client.get("/v1/usage", headers=bearer(alpha.query_key))).json()

    embedding = [day for day in usage["days"] if day["model"] == EMBEDDING_MODEL]
    assert len(embedding) == 1
    assert embedding[0]["embedding_tokens"] == 2 * TOKENS_PER_DOCUMENT
    assert (embedding[0]["requests"], embedding[0]["prompt_tokens"]) == (0, 0)
    assert usage["totals"]["embedding_tokens"] == 2 * TOKENS_PER_DOCUMENT
    assert usage["totals"]["requests"] == 1  # the answer only
    answered = [day for day in usage["days"] if day["model"] != EMBEDDING_MODEL]
    assert [day["embedding_tokens"] for day in answered] == [0]
    theirs = (await client.get("/v1/usage", headers=bearer(beta.query_key))).json()
    assert theirs["days"] == [] and theirs["totals"]["embedding_tokens"] == 0
