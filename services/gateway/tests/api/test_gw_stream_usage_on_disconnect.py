"""A streamed answer is billed however it ends: finished, cut off by the client, or failed.

Tokens the model produced for a client that hung up were still produced (and paid for): they
count in ``GET /v1/usage`` and towards the daily token quota, for ``/v1/query`` and for
``/v1/chat/completions``, with generation in the gateway's process and in its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from gw_answer_harness import LLM_MODEL, REFUND_TEXT, deployment, tenant_with_document
from gw_front_door import patch_tenant
from gw_harness import bearer

from ragline_testing.fake_llm import FakeChatServer
from ragline_testing.harness import serve_asgi

QUESTION = "When are refunds paid?"
ROUTES = {
    "query": ("/v1/query", {"query": QUESTION, "top_k": 5, "stream": True}, "event: delta"),
    "chat": (
        "/v1/chat/completions",
        {"model": LLM_MODEL, "messages": [{"role": "user", "content": QUESTION}], "stream": True},
        'data: {"id"',
    ),
}
_USAGE_BUDGET_S = 5.0


@pytest.fixture
def llm() -> FakeChatServer:
    # Never finishes and never reports usage: what is billed must be counted by Ragline.
    return FakeChatServer(endless=True, token_delay_s=0.02, report_usage=False)


@pytest.fixture
async def llm_url(llm: FakeChatServer) -> AsyncIterator[str]:
    async with serve_asgi(llm.app()) as url:
        yield url


async def _usage_totals(client: httpx.AsyncClient, key: str) -> dict[str, Any]:
    """The tenant's totals once an answer is recorded (recording follows the hang-up)."""

    async def recorded() -> dict[str, Any]:
        while True:
            usage = (await client.get("/v1/usage", headers=bearer(key))).json()
            totals: dict[str, Any] = usage["totals"]
            if totals["requests"]:
                return totals
            await asyncio.sleep(0.05)

    return await asyncio.wait_for(recorded(), timeout=_USAGE_BUDGET_S)


@pytest.mark.parametrize("route", ["query", "chat"])
@pytest.mark.parametrize("microservices", [False, True], ids=["monolith", "microservices"])
async def test_tokens_streamed_to_a_client_that_hung_up_are_billed_and_count_to_the_quota(
    tmp_path: Path, llm: FakeChatServer, llm_url: str, microservices: bool, route: str
) -> None:
    path, body, delta_prefix = ROUTES[route]
    async with (
        deployment(tmp_path, llm_url, microservices=microservices) as stack,
        httpx.AsyncClient(base_url=stack.url, timeout=10) as client,
    ):
        tenant = await tenant_with_document(client, "acme", REFUND_TEXT)
        await patch_tenant(client, tenant.id, {"quotas": {"llm_tokens_per_day": 1}})
        deltas = 0
        async with client.stream("POST", path, json=body, headers=bearer(tenant.query_key)) as r:
            assert r.status_code == 200, await r.aread()
            async for line in r.aiter_lines():
                deltas += line.startswith(delta_prefix)
                if deltas == 4:  # the first chunk of the chat stream carries no text
                    break  # leaving the block closes the connection
        await asyncio.wait_for(llm.abandoned.wait(), timeout=_USAGE_BUDGET_S)

        totals = await _usage_totals(client, tenant.query_key)
        await asyncio.sleep(1.05)  # past the key directory's cache of the tenant's limits
        refused = await client.post(
            path, json={**body, "stream": False}, headers=bearer(tenant.query_key)
        )

    assert totals["requests"] == 1
    assert totals["prompt_tokens"] > 0
    assert totals["completion_tokens"] >= 3  # at least what the client received
    assert totals["estimated_cost_usd"] > 0
    assert refused.status_code == 429 and refused.json()["code"] == "quota_exceeded"


async def test_an_answer_the_model_broke_off_is_billed_for_what_it_produced(
    tmp_path: Path, llm: FakeChatServer, llm_url: str
) -> None:
    llm.endless = False
    llm.malformed_after_tokens = 3
    async with (
        deployment(tmp_path, llm_url, microservices=True) as stack,
        httpx.AsyncClient(base_url=stack.url, timeout=10) as client,
    ):
        tenant = await tenant_with_document(client, "acme", REFUND_TEXT)
        path, body, _ = ROUTES["query"]
        async with client.stream("POST", path, json=body, headers=bearer(tenant.query_key)) as r:
            lines = [line async for line in r.aiter_lines()]
        totals = await _usage_totals(client, tenant.query_key)

    assert "event: error" in lines
    assert totals["requests"] == 1
    assert totals["prompt_tokens"] > 0 and totals["completion_tokens"] >= 3
