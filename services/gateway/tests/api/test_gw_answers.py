"""Answers through the gateway: SSE streaming, disconnects, usage, in one process and in two."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from gw_answer_harness import REFUND_TEXT, deployment, parse_sse, tenant_with_document
from gw_harness import bearer, make_tenant

from ragline_common.http.ops import metrics_app
from ragline_testing.fake_llm import FakeChatServer
from ragline_testing.harness import serve_asgi

QUESTION = {"query": "When are refunds paid?", "top_k": 5}


@pytest.fixture
def llm() -> FakeChatServer:
    return FakeChatServer()


@pytest.fixture
async def llm_url(llm: FakeChatServer) -> AsyncIterator[str]:
    async with serve_asgi(llm.app()) as url:
        yield url


@pytest.mark.parametrize("microservices", [False, True], ids=["monolith", "microservices"])
async def test_a_streamed_answer_arrives_as_server_sent_events_as_tokens_exist(
    tmp_path: Path, llm: FakeChatServer, llm_url: str, microservices: bool
) -> None:
    llm.first_token_delay_s = 0.3
    llm.token_delay_s = 0.05
    async with (
        deployment(tmp_path, llm_url, microservices=microservices) as stack,
        httpx.AsyncClient(base_url=stack.url, timeout=10) as client,
    ):
        tenant = await tenant_with_document(client, "acme", REFUND_TEXT)
        started = time.monotonic()
        lines: list[str] = []
        first_delta_at = None
        async with client.stream(
            "POST", "/v1/query", json={**QUESTION, "stream": True}, headers=bearer(tenant.query_key)
        ) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            async for line in response.aiter_lines():
                if line.startswith("event: delta") and first_delta_at is None:
                    first_delta_at = time.monotonic() - started
                lines.append(line)
        total = time.monotonic() - started

        events = parse_sse(lines)
        names = [name for name, _ in events]
        assert names[0] == "citations" and names[-1] == "done"
        assert set(names[1:-1]) == {"delta"} and len(names) > 4
        assert events[0][1]["citations"][0]["snippet"].startswith("Refunds are paid")
        answer = "".join(data["text"] for name, data in events if name == "delta")
        assert answer == llm.reply
        done = events[-1][1]
        assert done["cited"] == [1] and done["mode"] == "llm" and done["degraded"] is False
        assert done["usage"]["completion_tokens"] == len(llm.reply.split(" "))
        # The first token reached the client long before the answer was complete.
        assert first_delta_at is not None and 0.3 <= first_delta_at < total - 0.15

        usage = (await client.get("/v1/usage", headers=bearer(tenant.query_key))).json()
        assert usage["totals"]["requests"] == 1
        assert usage["totals"]["completion_tokens"] == done["usage"]["completion_tokens"]
        assert usage["days"][0]["model"] == "fake-model"


@pytest.mark.parametrize("microservices", [False, True], ids=["monolith", "microservices"])
async def test_a_client_hanging_up_mid_stream_cancels_the_model_call(
    tmp_path: Path, llm: FakeChatServer, llm_url: str, microservices: bool
) -> None:
    llm.endless = True
    llm.token_delay_s = 0.02
    async with (
        deployment(tmp_path, llm_url, microservices=microservices) as stack,
        httpx.AsyncClient(base_url=stack.url, timeout=10) as client,
    ):
        tenant = await tenant_with_document(client, "acme", REFUND_TEXT)
        deltas = 0
        async with client.stream(
            "POST", "/v1/query", json={**QUESTION, "stream": True}, headers=bearer(tenant.query_key)
        ) as response:
            async for line in response.aiter_lines():
                deltas += line == "event: delta"
                if deltas == 3:
                    break  # leaving the block closes the connection

        await asyncio.wait_for(llm.abandoned.wait(), timeout=5)
        assert llm.abandoned_streams == 1 and llm.completed_streams == 0


async def test_a_model_failing_mid_answer_ends_the_stream_with_a_problem_event(
    tmp_path: Path, llm: FakeChatServer, llm_url: str
) -> None:
    llm.malformed_after_tokens = 2
    async with (
        deployment(tmp_path, llm_url, microservices=False) as stack,
        httpx.AsyncClient(base_url=stack.url, timeout=10) as client,
    ):
        tenant = await tenant_with_document(client, "acme", REFUND_TEXT)
        async with client.stream(
            "POST", "/v1/query", json={**QUESTION, "stream": True}, headers=bearer(tenant.query_key)
        ) as response:
            events = parse_sse([line async for line in response.aiter_lines()])

    assert [name for name, _ in events] == ["citations", "delta", "delta", "error"]
    problem = events[-1][1]
    assert problem["status"] == 503 and problem["code"] == "llm_failed" and "trace_id" in problem


async def test_a_model_that_is_down_gives_a_degraded_extractive_answer(
    tmp_path: Path, llm: FakeChatServer, llm_url: str
) -> None:
    llm.always_fail = 500
    async with (
        deployment(tmp_path, llm_url, microservices=False, max_retries=0) as stack,
        httpx.AsyncClient(base_url=stack.url, timeout=10) as client,
    ):
        tenant = await tenant_with_document(client, "acme", REFUND_TEXT)
        response = await client.post("/v1/query", json=QUESTION, headers=bearer(tenant.query_key))

    body = response.json()
    assert response.status_code == 200
    assert body["degraded"] is True and body["degraded_reason"] == "llm_server_error"
    assert body["mode"] == "extractive"
    assert (
        body["answer"].startswith("Refunds are paid within fourteen days")
        and "[1]" in body["answer"]
    )
    assert body["citations"][0]["title"] == "Handbook"


async def test_usage_is_counted_per_tenant_and_only_shown_to_its_own_keys(
    tmp_path: Path, llm: FakeChatServer, llm_url: str
) -> None:
    async with (
        deployment(tmp_path, llm_url, microservices=False) as stack,
        httpx.AsyncClient(base_url=stack.url, timeout=10) as client,
    ):
        alpha = await tenant_with_document(client, "alpha", REFUND_TEXT)
        beta = await make_tenant(client, "beta")
        for _ in range(2):
            answer = await client.post("/v1/query", json=QUESTION, headers=bearer(alpha.query_key))
            assert answer.status_code == 200 and answer.json()["mode"] == "llm"
        extractive = await client.post(
            "/v1/query", json={**QUESTION, "model": "extractive"}, headers=bearer(alpha.query_key)
        )
        assert extractive.json()["mode"] == "extractive"

        mine = (await client.get("/v1/usage", headers=bearer(alpha.query_key))).json()
        theirs = (await client.get("/v1/usage", headers=bearer(beta.query_key))).json()
        bad_range = await client.get(
            "/v1/usage",
            params={"from": "2026-02-01", "to": "2026-01-01"},
            headers=bearer(alpha.query_key),
        )
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=metrics_app()), base_url="http://metrics"
        ) as scraper:
            metrics = (await scraper.get("/metrics")).text

    by_model = {row["model"]: row for row in mine["days"]}
    assert by_model["fake-model"]["requests"] == 2
    assert by_model["fake-model"]["prompt_tokens"] == 200  # reported by the model server
    assert by_model["fake-model"]["estimated_cost_usd"] == pytest.approx(
        2 * (100 * 2 + 7 * 8) / 1e6
    )
    assert by_model["extractive"]["requests"] == 1
    assert by_model["extractive"]["prompt_tokens"] == 0
    assert mine["totals"]["requests"] == 3 and mine["tenant_id"] == alpha.id
    assert theirs["days"] == [] and theirs["totals"]["requests"] == 0
    assert bad_range.status_code == 422 and bad_range.json()["code"] == "bad_usage_range"
    assert (
        f'ragline_answers_total{{degraded="false",mode="llm",tenant="{alpha.id}"}} 2.0' in metrics
    )
    assert f'tenant="{alpha.id}"' in metrics and "ragline_llm_tokens_total" in metrics
