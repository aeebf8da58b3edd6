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

import structlog
from fastapi import APIRouter
from pydantic import ValidationError

from ragline_common.contracts.answer import (
    MAX_HISTORY_TURNS,
    AnswerEvent,
    AnswerRequest,
    ChatTurn,
    CitationsEvent,
    DeltaEvent,
    DoneEvent,
    ErrorEvent,
    RewriteRequest,
    Usage,
)
from ragline_common.contracts.search import MAX_QUERY_CHARS, SearchQuery
from ragline_common.errors import NotFound, RaglineError, ValidationFailed
from ragline_common.http.streaming import CancellableStreamingResponse
from ragline_common.problem import problem_body
from ragline_common.tenancy import TenantId
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
from ragline_gateway.api.sse import (
    EVENT_STREAM_MEDIA_TYPE,
    STREAM_HEADERS,
    event_stream_doc,
    first_event,
)
from ragline_gateway.context import GatewayContext
from ragline_gateway.deps import ContextDep, GenerationTenant, QueryTenant
from ragline_gateway.domain.usage import billed, record_usage
from ragline_gateway.domain.visibility import visible_search

router = APIRouter(prefix="/v1", tags=["openai-compatible"])
_log = structlog.get_logger(__name__)


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


def _spent(usage: Usage) -> bool:
    return usage.prompt_tokens > 0 or usage.completion_tokens > 0


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
    body: ChatCompletionIn, context: ContextDep, tenant_id: GenerationTenant
) -> ChatCompletionOut | CancellableStreamingResponse:
    question, history = _question_and_history(body)
    available = await context.answers.models()
    if body.model not in {model.id for model in available.models}:
        raise NotFound(f"The model {body.model!r} is not available.", code="model_not_found")
    rewritten = await context.answers.rewrite(
        tenant_id, RewriteRequest(question=question, history=history, model=body.model)
    )
    if _spent(rewritten.usage):
        await record_usage(
            context.catalog,
            tenant_id,
            rewritten.usage,
            mode="llm",
            degraded=False,
            count_answer=False,
        )
    try:
        search = SearchQuery(query=rewritten.question, top_k=body.top_k, filters=body.filters)
    except ValidationError as exc:
        raise ValidationFailed("The search derived from the messages is invalid.") from exc
    hits = (await visible_search(context.search, context.catalog, tenant_id, search)).results
    request = AnswerRequest(question=rewritten.question, chunks=hits, model=body.model)
    completion_id = f"chatcmpl-{secrets.token_hex(12)}"
    created = int(time.time())
    if body.stream:
        include_usage = body.stream_options is not None and body.stream_options.include_usage
        return await _stream(
            context,
            tenant_id,
            request,
            _ChunkWriter(completion_id, created, body.model, rewritten.question, include_usage),
        )
    answer = await context.answers.answer(tenant_id, request)
    await record_usage(
        context.catalog, tenant_id, answer.usage, mode=answer.mode, degraded=answer.degraded
    )
    usage = answer.usage
    return ChatCompletionOut(
        id=completion_id,
        created=created,
        model=body.model,
        choices=[Choice(message=AssistantMessage(content=answer.answer))],
        usage=CompletionUsage(
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            total_tokens=usage.prompt_tokens + usage.completion_tokens,
        ),
        citations=answer.citations,
        ragline=RaglineInfo(
            mode=answer.mode,
            degraded=answer.degraded,
            degraded_reason=answer.degraded_reason,
            search_query=rewritten.question,
            estimated_cost_usd=usage.estimated_cost_usd,
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

    def first(self, event: AnswerEvent) -> str:
        if isinstance(event, CitationsEvent):
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
            usage = event.usage
            lines.append(
                self._data(
                    {
                        "id": self.completion_id,
                        "object": "chat.completion.chunk",
                        "created": self.created,
                        "model": self.model,
                        "choices": [],
                        "usage": {
                            "prompt_tokens": usage.prompt_tokens,
                            "completion_tokens": usage.completion_tokens,
                            "total_tokens": usage.prompt_tokens + usage.completion_tokens,
                        },
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


async def _stream(
    context: GatewayContext, tenant_id: TenantId, request: AnswerRequest, writer: _ChunkWriter
) -> CancellableStreamingResponse:
    events = billed(context.catalog, tenant_id, context.answers.stream(tenant_id, request))
    first = await first_event(events)
    return CancellableStreamingResponse(
        _chunks(first, events, writer),
        media_type=EVENT_STREAM_MEDIA_TYPE,
        headers=STREAM_HEADERS,
    )


async def _chunks(
    first: AnswerEvent,
    events: AsyncGenerator[AnswerEvent, None],
    writer: _ChunkWriter,
) -> AsyncGenerator[str, None]:
    """``events`` come billed (:func:`ragline_gateway.domain.usage.billed`)."""
    async with aclosing(events):
        try:
            yield writer.first(first)
            async for event in events:
                if isinstance(event, DeltaEvent):
                    yield writer.chunk({"content": event.text})
                elif isinstance(event, DoneEvent):
                    for line in writer.done(event):
                        yield line
                elif isinstance(event, ErrorEvent):
                    yield writer.error(event.problem)
                    return
            yield "data: [DONE]\n\n"
        except Exception as exc:
            if not isinstance(exc, RaglineError):
                _log.exception("chat_stream_failed")
            yield writer.error(problem_body(exc))
