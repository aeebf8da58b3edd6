"""Chat model port (any OpenAI-compatible endpoint)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol


@dataclass(frozen=True)
class ChatMessage:
    role: Literal["system", "user", "assistant"]
    content: str


@dataclass(frozen=True)
class ChatUsage:
    prompt_tokens: int
    completion_tokens: int


@dataclass(frozen=True)
class ChatCompletion:
    text: str
    model: str
    usage: ChatUsage


@dataclass(frozen=True)
class ChatDelta:
    """One streamed piece; the last one carries ``usage`` when the server reports it."""

    text: str
    usage: ChatUsage | None = None


class ChatModel(Protocol):
    @property
    def model_id(self) -> str: ...

    async def complete(
        self, messages: Sequence[ChatMessage], *, max_tokens: int, temperature: float
    ) -> ChatCompletion: ...

    def stream(
        self, messages: Sequence[ChatMessage], *, max_tokens: int, temperature: float
    ) -> AsyncIterator[ChatDelta]: ...
