"""Answer contract: gateway -> generation, whole answers and streamed ones.

A streamed answer is a sequence of :data:`AnswerEvent`: one ``citations`` event (the numbered
sources the answer may cite), any number of ``delta`` events (answer text as it is produced), then
exactly one ``done`` or ``error`` event. Deltas and errors carry the usage so far, so a stream
that stops early (the client left, a hop failed) is still billed. The same events travel
in-process (an async iterator), between services (one JSON object per line) and to the public
client (server-sent events), so no hop needs to understand more than this module.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Annotated, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, JsonValue, TypeAdapter

from ragline_common.contracts.search import MAX_QUERY_CHARS, SearchHit
from ragline_common.tenancy import TenantId

MAX_HISTORY_TURNS = 20
"""Earlier conversation turns considered when rewriting a follow-up question (the newest)."""
MAX_TURN_CHARS = 8000


class AnswerRequest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    question: str = Field(min_length=1, max_length=MAX_QUERY_CHARS)
    chunks: list[SearchHit]
    model: str | None = Field(default=None, max_length=200)
    """One of :meth:`AnswerApi.models`; ``None`` is the service's default."""


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

    @classmethod
    def of(cls, hit: SearchHit, *, index: int, snippet: str) -> Citation:
        """``hit`` cited as source ``[index]``: where it points is read from the hit itself,
        so a field the two share cannot be forgotten by one caller."""
        return cls.model_validate(hit.model_dump() | {"index": index, "snippet": snippet})


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


class CitationsEvent(BaseModel):
    """The sources of the answer, numbered as the answer's ``[n]`` refer to them; sent first."""

    model_config = ConfigDict(frozen=True)

    event: Literal["citations"] = "citations"
    citations: list[Citation]


class DeltaEvent(BaseModel):
    model_config = ConfigDict(frozen=True)

    event: Literal["delta"] = "delta"
    text: str
    usage: Usage | None = None
    """What the answer has cost so far (model answers): billed if the stream ends here, since
    a stream cut off before ``done`` still consumed every token generated up to then."""


class DoneEvent(BaseModel):
    """The answer is complete: which sources it cited, what it cost, and whether it degraded."""

    model_config = ConfigDict(frozen=True)

    event: Literal["done"] = "done"
    cited: list[int]
    """Indexes of the ``citations`` event that the answer text refers to, in order."""
    mode: Literal["llm", "extractive"]
    degraded: bool = False
    degraded_reason: str | None = None
    usage: Usage


class ErrorEvent(BaseModel):
    """The stream failed after it began; ``problem`` is the problem+json body a response had."""

    model_config = ConfigDict(frozen=True)

    event: Literal["error"] = "error"
    problem: dict[str, JsonValue]
    usage: Usage | None = None
    """What the failed answer cost up to the failure (billed like a finished one)."""


AnswerEvent = Annotated[
    CitationsEvent | DeltaEvent | DoneEvent | ErrorEvent, Field(discriminator="event")
]


ANSWER_EVENT: TypeAdapter[AnswerEvent] = TypeAdapter(AnswerEvent)
"""Parses any one event (a bare union has no ``model_validate_json``)."""


class ChatTurn(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    role: Literal["user", "assistant"]
    content: str = Field(max_length=MAX_TURN_CHARS)


class RewriteRequest(BaseModel):
    """A follow-up question and the conversation before it, to be made self-contained."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    question: str = Field(min_length=1, max_length=MAX_QUERY_CHARS)
    history: list[ChatTurn] = Field(max_length=MAX_HISTORY_TURNS)
    model: str | None = Field(default=None, max_length=200)


class RewrittenQuestion(BaseModel):
    model_config = ConfigDict(frozen=True)

    question: str
    usage: Usage


class ModelInfo(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    mode: Literal["llm", "extractive"]


class ModelList(BaseModel):
    model_config = ConfigDict(frozen=True)

    models: list[ModelInfo]
    default: str


class AnswerApi(Protocol):
    async def answer(self, tenant_id: TenantId, request: AnswerRequest) -> Answer: ...

    def stream(
        self, tenant_id: TenantId, request: AnswerRequest
    ) -> AsyncGenerator[AnswerEvent, None]:
        """The answer as events; closing the iterator early cancels the model call."""

    async def rewrite(self, tenant_id: TenantId, request: RewriteRequest) -> RewrittenQuestion:
        """A follow-up question restated so that it stands alone (for retrieval)."""

    async def models(self) -> ModelList: ...


class InternalAnswerRequest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    tenant_id: TenantId
    request: AnswerRequest


class InternalRewriteRequest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    tenant_id: TenantId
    request: RewriteRequest
