"""Answer contract: gateway -> generation."""

from __future__ import annotations

from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from ragline_common.contracts.search import MAX_QUERY_CHARS, SearchHit
from ragline_common.tenancy import TenantId


class AnswerRequest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    question: str = Field(min_length=1, max_length=MAX_QUERY_CHARS)
    chunks: list[SearchHit]


class Citation(BaseModel):
    """One cited chunk; ``index`` is the ``[n]`` used in the answer text."""

    model_config = ConfigDict(frozen=True)

    index: int
    document_id: str
    chunk_id: str
    title: str
    snippet: str
    page: int | None = None
    heading_path: tuple[str, ...] = ()


class Usage(BaseModel):
    model_config = ConfigDict(frozen=True)

    prompt_tokens: int = 0
    completion_tokens: int = 0
    model: str
    estimated_cost_usd: float = 0.0


class Answer(BaseModel):
    model_config = ConfigDict(frozen=True)

    answer: str
    citations: list[Citation]
    mode: Literal["llm", "extractive"]
    degraded: bool = False
    degraded_reason: str | None = None
    usage: Usage


class AnswerApi(Protocol):
    async def answer(self, tenant_id: TenantId, request: AnswerRequest) -> Answer: ...


class InternalAnswerRequest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    tenant_id: TenantId
    request: AnswerRequest
