"""Builds the real answer service against a fake OpenAI-protocol server on loopback."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from fastapi import FastAPI
from pydantic import SecretStr

from ragline_common.contracts.answer import AnswerEvent
from ragline_common.contracts.search import SearchHit
from ragline_generation.adapters.openai_chat import OpenAIChatModel
from ragline_generation.api.internal import internal_router
from ragline_generation.domain.breaker import CircuitBreaker
from ragline_generation.domain.extractive import ExtractiveAnswerer
from ragline_generation.domain.service import AnswerService, Llm
from ragline_generation.domain.tokens import TokenCounter
from ragline_generation.settings import GenerationSettings, LlmSettings, ModelPrice
from ragline_testing.harness import problem_app

MODEL = "fake-model"
PRICES = {MODEL: ModelPrice(prompt=2.0, completion=8.0)}
TOKEN = "internal-token-0123456789abcdef"


@cache
def counter() -> TokenCounter:
    return TokenCounter()


def hit(chunk_id: str, text: str, *, document_id: str = "doc_1", **extra: Any) -> SearchHit:
    fields: dict[str, Any] = {
        "document_id": document_id,
        "chunk_id": chunk_id,
        "text": text,
        "score": 0.8,
        "metadata": {},
        "title": "Handbook",
        "source_name": "handbook.txt",
        "version": 1,
        "chunk_index": 0,
    }
    fields.update(extra)
    return SearchHit(**fields)


REFUNDS = [
    hit("c1", "Refunds are paid within fourteen days of the request."),
    hit("c2", "Parking is free for visitors on weekends.", page=3, heading_path=("Site",)),
]


def llm_settings(base_url: str, **overrides: Any) -> LlmSettings:
    values: dict[str, Any] = {
        "base_url": f"{base_url}/v1",
        "model": MODEL,
        "first_token_timeout_s": 5.0,
        "read_timeout_s": 5.0,
        "max_retries": 2,
        "retry_base_s": 0.05,
        "prices": PRICES,
    }
    values.update(overrides)
    return LlmSettings(**values)


def service(
    base_url: str | None,
    *,
    budget: int = 3000,
    **overrides: Any,
) -> AnswerService:
    settings = GenerationSettings(prompt_budget_tokens=budget, snippet_chars=120)
    llm = None
    if base_url is not None:
        config = llm_settings(base_url, **overrides)
        llm = Llm(
            model=OpenAIChatModel(config),
            settings=config,
            breaker=CircuitBreaker(
                failure_threshold=config.breaker_failures, reset_s=config.breaker_reset_s
            ),
        )
    return AnswerService(
        extractive=ExtractiveAnswerer(max_sentences=3, snippet_chars=120),
        counter=counter(),
        settings=settings,
        llm=llm,
    )


def text_of(events: Sequence[AnswerEvent]) -> str:
    return "".join(event.text for event in events if event.event == "delta")


def internal_app(answers: AnswerService) -> FastAPI:
    """``answers`` behind the real internal route (token ``TOKEN``), as the gateway reaches it."""
    return problem_app(
        internal_router(service=lambda: answers, internal_token=lambda: SecretStr(TOKEN))
    )
