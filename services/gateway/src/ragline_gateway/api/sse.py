"""Server-sent events for streamed answers (``POST /v1/query`` and the chat completions).

Ragline's own format has one SSE event per answer event, named as in the contract
(``citations``, ``delta``, ``done``, ``error``), each written the moment generation yields it.
Both formats read the events through :func:`answer_events`, so anything that fails after the
headers went out reaches either client the same way: as an error in the stream.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Any

import structlog

from ragline_common.contracts.answer import AnswerEvent, ErrorEvent
from ragline_common.errors import RaglineError
from ragline_common.http.streaming import CancellableStreamingResponse
from ragline_common.problem import problem_body
from ragline_gateway.domain.answering import AnswerStream

EVENT_STREAM_MEDIA_TYPE = "text/event-stream"
STREAM_HEADERS = {
    "Cache-Control": "no-cache",
    # Reverse proxies (nginx and others that honour it) must pass events through unbuffered.
    "X-Accel-Buffering": "no",
}

_log = structlog.get_logger(__name__)


def event_stream_doc(event_names: tuple[str, ...] | None) -> dict[str, Any]:
    """OpenAPI for a ``text/event-stream`` 200: the schema describes each event (OpenAPI 3.1)."""
    properties: dict[str, Any] = {"data": {"type": "string"}}
    if event_names is not None:
        properties["event"] = {"type": "string", "enum": list(event_names)}
    return {
        EVENT_STREAM_MEDIA_TYPE: {
            "schema": {"type": "object", "properties": properties, "required": ["data"]}
        }
    }


def sse(event: str, data: Any) -> str:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def _payload(event: AnswerEvent) -> tuple[str, Any]:
    if event.event == "error":
        return "error", event.problem
    if event.event == "delta":
        # The running usage is for billing a stream cut short; the client gets it in ``done``.
        return "delta", {"text": event.text}
    return event.event, event.model_dump(mode="json", exclude={"event"})


async def answer_events(stream: AnswerStream) -> AsyncGenerator[AnswerEvent, None]:
    """The stream's events, closed however the response ends; a failure after the headers went
    out becomes an ``error`` event carrying the problem+json body the response would have had."""
    async with aclosing(stream.rest):
        try:
            yield stream.first
            async for event in stream.rest:
                yield event
        except Exception as exc:
            if not isinstance(exc, RaglineError):
                _log.exception("answer_stream_failed")
            yield ErrorEvent(problem=problem_body(exc))


def event_stream_response(lines: AsyncGenerator[str, None]) -> CancellableStreamingResponse:
    return CancellableStreamingResponse(
        lines, media_type=EVENT_STREAM_MEDIA_TYPE, headers=STREAM_HEADERS
    )


async def answer_sse(stream: AnswerStream) -> AsyncGenerator[str, None]:
    """Ragline's own rendering: one SSE event per answer event."""
    async with aclosing(answer_events(stream)) as events:
        async for event in events:
            yield sse(*_payload(event))
