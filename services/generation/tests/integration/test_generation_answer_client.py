"""HttpAnswerClient against the real internal route served by uvicorn on 127.0.0.1."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import aclosing

import pytest
from llm_harness import TOKEN, counter, internal_app
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.responses import StreamingResponse
from starlette.routing import Route

from ragline_common.clients import HttpAnswerClient
from ragline_common.contracts.answer import AnswerRequest, CitationsEvent
from ragline_common.contracts.search import MAX_TOP_K, SearchHit
from ragline_common.errors import UpstreamUnavailable, ValidationFailed
from ragline_common.http.internal_routes import ANSWER_STREAM_PATH
from ragline_common.tenancy import TenantId
from ragline_generation.domain.extractive import ExtractiveAnswerer
from ragline_generation.domain.service import AnswerService
from ragline_generation.settings import GenerationSettings
from ragline_testing.harness import serve_asgi, unused_port

TENANT = TenantId("tenant_a")


def hit(chunk_id: str, text: str) -> SearchHit:
    return SearchHit(
        document_id="doc_1",
        chunk_id=chunk_id,
        text=text,
        score=0.8,
        metadata={},
        title="Handbook",
        source_name="handbook.pdf",
        version=1,
        chunk_index=0,
        heading_path=("Refunds",),
        page=2,
    )


@pytest.fixture
async def base_url() -> AsyncIterator[str]:
    answers = AnswerService(
        extractive=ExtractiveAnswerer(max_sentences=4, snippet_chars=200),
        counter=counter(),
        settings=GenerationSettings(snippet_chars=200),
    )
    async with serve_asgi(internal_app(answers)) as url:
        yield url


async def test_an_answer_round_trips_with_its_citations(base_url: str) -> None:
    request = AnswerRequest(
        question="When are refunds paid?",
        chunks=[hit("c1", "Refunds are paid within fourteen days. Parking is free.")],
    )
    async with aclosing(HttpAnswerClient(base_url, SecretStr(TOKEN), timeout_s=5)) as client:
        answer = await client.answer(TENANT, request)

    assert answer.answer == "Refunds are paid within fourteen days. [1]"
    (citation,) = answer.citations
    assert (citation.chunk_id, citation.page, citation.heading_path) == ("c1", 2, ("Refunds",))
    assert answer.usage.model == "extractive"


async def test_a_refused_request_stays_a_validation_error(base_url: str) -> None:
    request = AnswerRequest(question="q", chunks=[hit(f"c{i}", "x") for i in range(MAX_TOP_K + 1)])
    async with aclosing(HttpAnswerClient(base_url, SecretStr(TOKEN), timeout_s=5)) as client:
        with pytest.raises(ValidationFailed) as caught:
            await client.answer(TENANT, request)

    assert caught.value.code == "too_many_chunks"
    assert str(MAX_TOP_K) in caught.value.detail


async def test_a_generation_service_that_is_down_fails_fast() -> None:
    client = HttpAnswerClient(f"http://127.0.0.1:{unused_port()}", SecretStr(TOKEN), timeout_s=30)
    started = time.monotonic()
    async with aclosing(client):
        with pytest.raises(UpstreamUnavailable, match="generation is unreachable"):
            await client.answer(TENANT, AnswerRequest(question="q", chunks=[]))
    assert time.monotonic() - started < 2.0


async def test_a_stream_cut_off_before_its_end_is_an_upstream_failure() -> None:
    async def truncated(_request: object) -> StreamingResponse:
        async def lines() -> AsyncIterator[str]:
            yield CitationsEvent(citations=[]).model_dump_json() + "\n"
            yield '{"event": "delta", "text": "Refunds are"}\n'

        return StreamingResponse(lines(), media_type="application/x-ndjson")

    app = Starlette(routes=[Route(ANSWER_STREAM_PATH, truncated, methods=["POST"])])
    received: list[str] = []
    async with (
        serve_asgi(app) as url,
        aclosing(HttpAnswerClient(url, TOKEN, timeout_s=5)) as client,
    ):

        async def consume() -> None:
            request = AnswerRequest(question="q", chunks=[hit("c1", "Refunds.")])
            async for event in client.stream(TENANT, request):
                received.append(event.event)

        with pytest.raises(UpstreamUnavailable, match="early"):
            await consume()

    assert received == ["citations", "delta"]
