"""Chat model port (any OpenAI-compatible endpoint).

Adapters translate every transport failure into :class:`ChatModelError` with a short, stable
``reason``: callers decide on a fallback from the reason alone and never see an HTTP library's
exceptions.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

ChatFailure = Literal[
    "timeout", "rate_limited", "server_error", "unreachable", "rejected", "malformed_response"
]


class ChatModelError(Exception):
    def __init__(self, reason: ChatFailure, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason: ChatFailure = reason
        self.detail = detail


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
    usage: ChatUsage | None
    """``None`` when the server did not report usage (the caller estimates it)."""


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
    ) -> AsyncGenerator[ChatDelta, None]:
        """Deltas as the server sends them; closing the iterator closes the HTTP response."""

    async def aclose(self) -> None: ...
