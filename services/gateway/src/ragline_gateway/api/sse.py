"""Server-sent events for ``POST /v1/query`` with ``"stream": true``.

One SSE event per answer event, named as in the contract (``citations``, ``delta``, ``done``,
``error``), each written the moment generation yields it. Anything that fails after the headers
went out becomes an ``error`` event carrying the problem+json body the response would have had.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Any

import structlog

from ragline_common.contracts.answer import AnswerEvent
from ragline_common.errors import RaglineError, UpstreamUnavailable
from ragline_common.problem import problem_body

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


async def first_event(events: AsyncGenerator[AnswerEvent, None]) -> AnswerEvent:
    """The sources event, awaited before the response starts (so failures keep their status)."""
    try:
        return await anext(events)
    except StopAsyncIteration as exc:
        raise UpstreamUnavailable("Generation returned an empty answer stream.") from exc


def sse(event: str, data: Any) -> str:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def _payload(event: AnswerEvent) -> tuple[str, Any]:
    if event.event == "error":
        return "error", event.problem
    if event.event == "delta":
        # The running usage is for billing a stream cut short; the client gets it in ``done``.
        return "delta", {"text": event.text}
    return event.event, event.model_dump(mode="json", exclude={"event"})


async def answer_sse(
    first: AnswerEvent, events: AsyncGenerator[AnswerEvent, None]
) -> AsyncGenerator[str, None]:
    """``events`` come billed (:func:`ragline_gateway.domain.usage.billed`)."""
    async with aclosing(events):
        try:
            yield sse(*_payload(first))
            async for event in events:
                yield sse(*_payload(event))
        except Exception as exc:
            if not isinstance(exc, RaglineError):
                _log.exception("answer_stream_failed")
            yield sse("error", problem_body(exc))
