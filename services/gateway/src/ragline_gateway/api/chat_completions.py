"""The OpenAI-compatible front door: ``POST /v1/chat/completions`` and ``GET /v1/models``.

Any OpenAI client works with ``base_url=<gateway>/v1`` and a tenant API key as its key. The
last user message is the question; earlier user and assistant turns only help restate it for
retrieval (a follow-up such as "and for children?" searches poorly on its own). System messages
from the caller are ignored: the rules the model follows are Ragline's, not the caller's.
Answers come back in the OpenAI format, streamed or not, with the sources in ``citations``.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Any

from fastapi import APIRouter
from pydantic import ValidationError

from ragline_common.contracts.answer import (
    MAX_HISTORY_TURNS,
    ChatTurn,
    CitationsEvent,
    DeltaEvent,
    DoneEvent,
    ErrorEvent,
    RewriteRequest,
)
from ragline_common.contracts.search import MAX_QUERY_CHARS, SearchQuery
from ragline_common.errors import ValidationFailed
from ragline_common.http.streaming import CancellableStreamingResponse
from ragline_gateway.api.chat_schemas import (
    AssistantMessage,
    ChatCompletionIn,
    ChatCompletionOut,
    Choice,
    CompletionUsage,
    ModelListOut,
    ModelOut,
    RaglineInfo,
    openai_error,
    turn_text,
)
from ragline_gateway.api.sse import answer_events, event_stream_doc, event_stream_response
from ragline_gateway.deps import AnsweringDep, ContextDep, GenerationTenant, QueryTenant
from ragline_gateway.domain.answering import AnswerStream

router = APIRouter(prefix="/v1", tags=["openai-compatible"])


@router.get("/models", response_model=ModelListOut, summary="Models this tenant can use")
async def list_models(context: ContextDep, _tenant: QueryTenant) -> ModelListOut:
    models = await context.answers.models()
    return ModelListOut(data=[ModelOut(id=model.id) for model in models.models])


def _question_and_history(body: ChatCompletionIn) -> tuple[str, list[ChatTurn]]:
    conversation = [m for m in body.messages if m.role in ("user", "assistant")]
    if not conversation or conversation[-1].role != "user" or not conversation[-1].text().strip():
        raise ValidationFailed(
            "The last message must be a user message with text.", code="no_question"
        )
    question = conversation[-1].text().strip()
    if len(question) > MAX_QUERY_CHARS:
        raise ValidationFailed(
            f"The question is longer than {MAX_QUERY_CHARS} characters.", code="question_too_long"
        )
    history = [
        ChatTurn(role="user" if m.role == "user" else "assistant", content=turn_text(m))
        for m in conversation[:-1]
    ]
    return question, history[-MAX_HISTORY_TURNS:]


def _search(question: str, body: ChatCompletionIn) -> SearchQuery:
    try:
        return SearchQuery(query=question, top_k=body.top_k, filters=body.filters)
    except ValidationError as exc:
        raise ValidationFailed("The search derived from the messages is invalid.") from exc


@router.post(
    "/chat/completions",
    response_model=ChatCompletionOut,
    summary="OpenAI-compatible chat completion, grounded in the tenant's documents",
    responses={
        200: {
            "description": "The completion; with `stream: true`, `chat.completion.chunk` events",
            "content": event_stream_doc(None),
        },
        404: {"description": "Unknown model"},
        503: {"description": "Retrieval or generation is unavailable"},
    },
)
async def chat_completions(
    body: ChatCompletionIn, answering: AnsweringDep, tenant_id: GenerationTenant
) -> ChatCompletionOut | CancellableStreamingResponse:
    question, history = _question_and_history(body)
    restated = await answering.restate(
        tenant_id, RewriteRequest(question=question, history=history, model=body.model)
    )
    search = _search(restated, body)
    completion_id = f"chatcmpl-{secrets.token_hex(12)}"
    created = int(time.time())
    if body.stream:
        include_usage = body.stream_options is not None and body.stream_options.include_usage
        writer = _ChunkWriter(completion_id, created, body.model, restated, include_usage)
        stream = await answering.stream(tenant_id, search, body.model)
        return event_stream_response(_chunks(stream, writer))
    answer = await answering.answer(tenant_id, search, body.model)
    return ChatCompletionOut(
        id=completion_id,
        created=created,
        model=body.model,
        choices=[Choice(message=AssistantMessage(content=answer.answer))],
        usage=CompletionUsage.of(answer.usage),
        citations=answer.citations,
        ragline=RaglineInfo(
            mode=answer.mode,
            degraded=answer.degraded,
            degraded_reason=answer.degraded_reason,
            search_query=restated,
            estimated_cost_usd=answer.usage.estimated_cost_usd,
        ),
    )


class _ChunkWriter:
    """Renders answer events as ``chat.completion.chunk`` SSE lines."""

    def __init__(
        self, completion_id: str, created: int, model: str, search_query: str, include_usage: bool
    ) -> None:
        self.completion_id = completion_id
        self.created = created
        self.model = model
        self.search_query = search_query
        self.include_usage = include_usage
        self.sources: dict[int, Any] = {}

    def _data(self, payload: dict[str, Any]) -> str:
        return f"data: {json.dumps(payload, separators=(',', ':'))}\n\n"

    def chunk(self, delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        return self._data(
            {
                "id": self.completion_id,
                "object": "chat.completion.chunk",
                "created": self.created,
                "model": self.model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                **extra,
            }
        )

    def first(self, event: CitationsEvent) -> str:
        """The opening chunk (the assistant's role), with every source the answer may cite."""
        self.sources = {c.index: c.model_dump(mode="json") for c in event.citations}
        return self.chunk(
            {"role": "assistant", "content": ""}, citations=list(self.sources.values())
        )

    def done(self, event: DoneEvent) -> list[str]:
        info = RaglineInfo(
            mode=event.mode,
            degraded=event.degraded,
            degraded_reason=event.degraded_reason,
            search_query=self.search_query,
            estimated_cost_usd=event.usage.estimated_cost_usd,
        )
        cited = [self.sources[n] for n in event.cited if n in self.sources]
        lines = [self.chunk({}, "stop", citations=cited, ragline=info.model_dump(mode="json"))]
        if self.include_usage:
            lines.append(
                self._data(
                    {
                        "id": self.completion_id,
                        "object": "chat.completion.chunk",
                        "created": self.created,
                        "model": self.model,
                        "choices": [],
                        "usage": CompletionUsage.of(event.usage).model_dump(),
                    }
                )
            )
        return lines

    def error(self, problem: dict[str, Any]) -> str:
        return self._data(
            openai_error(
                str(problem.get("detail", "The answer failed.")),
                str(problem.get("code", "internal_error")),
                "server_error",
            )
        )


async def _chunks(stream: AnswerStream, writer: _ChunkWriter) -> AsyncGenerator[str, None]:
    """The OpenAI rendering: ``chat.completion.chunk`` lines, then ``[DONE]`` unless it failed."""
    async with aclosing(answer_events(stream)) as events:
        async for event in events:
            if isinstance(event, CitationsEvent):
                yield writer.first(event)
            elif isinstance(event, DeltaEvent):
                yield writer.chunk({"content": event.text})
            elif isinstance(event, DoneEvent):
                for line in writer.done(event):
                    yield line
            elif isinstance(event, ErrorEvent):
                yield writer.error(event.problem)
                return
        yield "data: [DONE]\n\n"
