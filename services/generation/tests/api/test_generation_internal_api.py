"""The internal answer route through ASGI: token guard, problem+json errors, the component."""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from llm_harness import counter
from pydantic import SecretStr

from ragline_cli.hosting import ProcessHost, WiredHost
from ragline_common.contracts.answer import Answer, AnswerApi, AnswerRequest
from ragline_common.contracts.search import MAX_TOP_K
from ragline_common.hosting import ANSWER_API, Api
from ragline_common.http.internal_auth import INTERNAL_TOKEN_HEADER
from ragline_common.problem import PROBLEM_MEDIA_TYPE
from ragline_common.settings import CoreSettings
from ragline_common.tenancy import TenantId
from ragline_generation.api.internal import internal_router
from ragline_generation.component import GenerationComponent
from ragline_generation.domain.extractive import ExtractiveAnswerer
from ragline_generation.domain.service import AnswerService
from ragline_generation.settings import GenerationSettings
from ragline_testing.harness import embedded_settings, problem_app

TOKEN = "internal-token-0123456789abcdef"


def chunk(chunk_id: str, text: str) -> dict[str, Any]:
    return {
        "document_id": "doc_1",
        "chunk_id": chunk_id,
        "text": text,
        "score": 0.8,
        "metadata": {},
        "title": "Handbook",
        "source_name": "handbook.pdf",
        "version": 1,
        "chunk_index": 0,
    }


BODY = {
    "tenant_id": "tenant_a",
    "request": {
        "question": "When are refunds paid?",
        "chunks": [chunk("c1", "Refunds are paid within fourteen days. Parking is free.")],
    },
}


def service() -> AnswerService:
    return AnswerService(
        extractive=ExtractiveAnswerer(max_sentences=4, snippet_chars=200),
        counter=counter(),
        settings=GenerationSettings(snippet_chars=200),
    )


def app_with(answers: AnswerApi, token: str | None) -> FastAPI:
    secret = SecretStr(token) if token is not None else None
    return problem_app(internal_router(service=lambda: answers, internal_token=lambda: secret))


async def post(app: FastAPI, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://generation") as client:
        return await client.post("/internal/v1/answer", json=body, headers=headers)


@pytest.mark.parametrize("headers", [None, {INTERNAL_TOKEN_HEADER: "wrong-token-0123456789"}])
async def test_a_missing_or_wrong_token_is_401_problem(headers: dict[str, str] | None) -> None:
    response = await post(app_with(service(), TOKEN), BODY, headers)

    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert response.json()["code"] == "invalid_internal_token"


async def test_the_right_token_gets_a_cited_extractive_answer() -> None:
    response = await post(app_with(service(), TOKEN), BODY, {INTERNAL_TOKEN_HEADER: TOKEN})

    assert response.status_code == 200
    answer = Answer.model_validate(response.json())
    assert answer.answer == "Refunds are paid within fourteen days. [1]"
    assert [c.chunk_id for c in answer.citations] == ["c1"]
    assert answer.mode == "extractive"
    assert answer.degraded is False


async def test_an_unknown_model_is_a_404_problem_with_a_stable_code() -> None:
    body = {"tenant_id": "t", "request": {"question": "q", "chunks": [], "model": "gpt-9"}}
    response = await post(app_with(service(), TOKEN), body, {INTERNAL_TOKEN_HEADER: TOKEN})

    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert response.json()["code"] == "model_not_found"


@pytest.mark.parametrize(
    "body",
    [
        {"request": BODY["request"]},
        {"tenant_id": "t", "request": {"question": "", "chunks": []}},
        {"tenant_id": "t", "request": {"question": "q" * 2001, "chunks": []}},
        {"tenant_id": "t", "request": {"question": "q", "chunks": [{"chunk_id": "c1"}]}},
        {"tenant_id": "t", "request": {"question": "q", "chunks": [], "temperature": 1}},
    ],
)
async def test_invalid_requests_are_422_problems(body: dict[str, Any]) -> None:
    response = await post(app_with(service(), TOKEN), body, {INTERNAL_TOKEN_HEADER: TOKEN})

    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert response.json()["code"] == "validation_failed"


async def test_more_chunks_than_any_search_returns_are_refused() -> None:
    body = {
        "tenant_id": "t",
        "request": {
            "question": "q",
            "chunks": [chunk(f"c{i}", "Text.") for i in range(MAX_TOP_K + 1)],
        },
    }

    response = await post(app_with(service(), None), body)

    assert response.status_code == 422
    assert response.json()["code"] == "too_many_chunks"


async def test_the_component_provides_answers_and_serves_with_the_hosts_token() -> None:
    component = GenerationComponent(GenerationSettings(max_answer_sentences=1))
    provided: dict[Api[Any], Any] = {}
    host = ProcessHost(
        embedded_settings(CoreSettings(internal_token=SecretStr(TOKEN))), AsyncExitStack()
    )
    wired = WiredHost(
        host, component.name, provides=component.provides, requires=(), provided=provided
    )
    await component.start(wired)

    answers: AnswerApi = provided[ANSWER_API]
    direct = await answers.answer(TenantId("t"), AnswerRequest.model_validate(BODY["request"]))
    assert direct.answer == "Refunds are paid within fourteen days. [1]"

    app = problem_app(*component.routers(internal_api=True))
    assert (await post(app, BODY)).status_code == 401
    assert (await post(app, BODY, {INTERNAL_TOKEN_HEADER: TOKEN})).status_code == 200


async def test_routes_are_mounted_only_for_a_remote_gateway() -> None:
    assert GenerationComponent().routers(internal_api=False) == []
    app = problem_app(*GenerationComponent().routers(internal_api=True))

    response = await post(app, BODY, {INTERNAL_TOKEN_HEADER: TOKEN})

    assert response.status_code == 503  # not started yet: fails closed
