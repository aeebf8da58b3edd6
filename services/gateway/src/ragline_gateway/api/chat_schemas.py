"""OpenAI chat-completions wire shapes, as much of them as the front door reads and writes.

Requests are read tolerantly (``extra="ignore"``): OpenAI clients send many options that a
retrieval-grounded answer has no use for (``n``, ``logprobs``, tools...). Responses follow the
OpenAI format with one extra field, ``citations``, and a ``ragline`` object with the rest.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ragline_common.contracts.answer import MAX_HISTORY_TURNS, MAX_TURN_CHARS, Citation, Usage
from ragline_common.contracts.search import MAX_TOP_K, Filters

MAX_MESSAGES = 2 * MAX_HISTORY_TURNS + 10


class TextPart(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: str
    text: str | None = None


class ChatMessageIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[TextPart] | None = None

    def text(self) -> str:
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "".join(part.text or "" for part in self.content if part.type == "text")


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="ignore")

    include_usage: bool = False


class ChatCompletionIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    model: str = Field(min_length=1, max_length=200)
    messages: list[ChatMessageIn] = Field(min_length=1, max_length=MAX_MESSAGES)
    stream: bool = False
    stream_options: StreamOptions | None = None
    top_k: int = Field(default=8, ge=1, le=MAX_TOP_K)
    """Ragline extension: chunks retrieved to ground the answer."""
    filters: Filters = Field(default_factory=dict)
    """Ragline extension: metadata filters, as for ``POST /v1/search``."""


class RaglineInfo(BaseModel):
    mode: Literal["llm", "extractive"]
    degraded: bool
    degraded_reason: str | None
    search_query: str
    """The question as retrieval saw it (rewritten from the conversation when there was one)."""
    estimated_cost_usd: float


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class Choice(BaseModel):
    index: int = 0
    message: AssistantMessage
    finish_reason: Literal["stop"] = "stop"


class CompletionUsage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int

    @classmethod
    def of(cls, usage: Usage) -> CompletionUsage:
        total = usage.prompt_tokens + usage.completion_tokens
        return cls(
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            total_tokens=total,
        )


class ChatCompletionOut(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: CompletionUsage
    citations: list[Citation]
    ragline: RaglineInfo


class ModelOut(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int = 0
    owned_by: str = "ragline"


class ModelListOut(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelOut]


def turn_text(message: ChatMessageIn) -> str:
    return message.text()[-MAX_TURN_CHARS:]


def openai_error(message: str, code: str, kind: str) -> dict[str, Any]:
    """The error object OpenAI clients read from a failed stream."""
    return {"error": {"message": message, "type": kind, "code": code}}
