"""The benchmarks' API helpers wait out the gateway's push-back and fail on real errors."""

from __future__ import annotations

import time

import httpx
import pytest

from ragline_testing.public_api import send, settled_job


def _client(answers: list[httpx.Response], seen: list[str]) -> httpx.AsyncClient:
    def respond(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return answers.pop(0)

    return httpx.AsyncClient(base_url="http://gateway", transport=httpx.MockTransport(respond))


async def test_send_waits_as_long_as_retry_after_says_then_returns_the_answer() -> None:
    later = {"Retry-After": "0.2"}
    answers = [httpx.Response(429, headers=later), httpx.Response(503, headers=later)]
    answers.append(httpx.Response(202, json={"job_id": "job_1"}))
    seen: list[str] = []
    async with _client(answers, seen) as client:
        started = time.monotonic()
        response = await send(client, "POST", "/v1/documents", json={})

    assert response.json() == {"job_id": "job_1"}
    assert len(seen) == 3 and time.monotonic() - started >= 0.4


async def test_send_raises_on_an_error_that_waiting_cannot_fix() -> None:
    seen: list[str] = []
    async with _client([httpx.Response(413)], seen) as client:
        with pytest.raises(httpx.HTTPStatusError):
            await send(client, "POST", "/v1/documents", json={})
    assert len(seen) == 1


async def test_a_job_is_polled_until_it_settles() -> None:
    answers = [
        httpx.Response(200, json={"status": "queued"}),
        httpx.Response(200, json={"status": "processing"}),
        httpx.Response(200, json={"status": "failed", "reason": "unreadable"}),
    ]
    seen: list[str] = []
    async with _client(answers, seen) as client:
        job = await settled_job(client, "job_1", poll_s=0.01)

    assert job == {"status": "failed", "reason": "unreadable"}
    assert seen == ["/v1/jobs/job_1"] * 3
