"""A scriptable server that speaks OpenAI's chat-completions protocol, for tests and benchmarks.

Served over real HTTP on loopback (:func:`ragline_testing.harness.serve_asgi`), so the service
under test uses the real ``openai`` client, sockets, SSE parsing and timeouts; nothing is
patched. The server records every request body (tests assert on the prompt actually sent) and
notices when a client abandons a stream (tests assert that a disconnect reaches the model).

Like :mod:`ragline_testing.harness`, only test suites and benchmarks import this module.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

DEFAULT_REPLY = "Refunds are paid within fourteen days [1]."


@dataclass(frozen=True)
class Refusal:
    """One call answered with an error status instead of a completion."""

    status: int
    retry_after_s: float | None = None
    retry_after_ms: float | None = None
    """Sent as ``retry-after-ms``, as OpenAI and Azure do besides ``retry-after``."""


@dataclass
class FakeChatServer:
    """Answers ``POST /v1/chat/completions`` as scripted by its public attributes."""

    reply: str = DEFAULT_REPLY
    first_token_delay_s: float = 0.0
    token_delay_s: float = 0.0
    refusals: deque[Refusal] = field(default_factory=deque)
    """Consumed one per call, before any call succeeds."""
    always_fail: int | None = None
    """Status every call fails with (a model that is down)."""
    malformed_after_tokens: int | None = None
    """Send this many tokens, then a chunk that is not JSON."""
    endless: bool = False
    """Keep streaming tokens until the client goes away (for disconnect tests)."""
    report_usage: bool = True
    model: str = "fake-model"

    requests: list[dict[str, Any]] = field(default_factory=list)
    arrivals: list[float] = field(default_factory=list)
    """``time.monotonic()`` when each call arrived."""
    first_token_sent: list[float] = field(default_factory=list)
    """``time.monotonic()`` when each stream's first content token was written."""
    completed_streams: int = 0
    abandoned_streams: int = 0
    abandoned: asyncio.Event = field(default_factory=asyncio.Event)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/v1/chat/completions", self._handle, methods=["POST"])])

    @property
    def system_prompts(self) -> list[str]:
        return [m["content"] for r in self.requests for m in r["messages"] if m["role"] == "system"]

    async def _handle(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append(body)
        self.arrivals.append(time.monotonic())
        refusal = self.refusals.popleft() if self.refusals else None
        if refusal is None and self.always_fail is not None:
            refusal = Refusal(self.always_fail)
        if refusal is not None:
            headers = {}
            if refusal.retry_after_s is not None:
                headers["retry-after"] = f"{refusal.retry_after_s:g}"
            if refusal.retry_after_ms is not None:
                headers["retry-after-ms"] = f"{refusal.retry_after_ms:g}"
            error = {"error": {"message": "scripted failure", "type": "server_error"}}
            return JSONResponse(error, status_code=refusal.status, headers=headers)
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            return StreamingResponse(self._stream(include_usage), media_type="text/event-stream")
        await asyncio.sleep(self.first_token_delay_s)
        return JSONResponse(self._completion(body))

    def _tokens(self) -> list[str]:
        words = self.reply.split(" ")
        return [word if i == 0 else " " + word for i, word in enumerate(words)]

    def _usage(self) -> dict[str, int]:
        completion = len(self._tokens())
        return {
            "prompt_tokens": 100,
            "completion_tokens": completion,
            "total_tokens": 100 + completion,
        }

    def _completion(self, body: dict[str, Any]) -> dict[str, Any]:
        completion: dict[str, Any] = {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": self.reply},
                    "finish_reason": "stop",
                }
            ],
        }
        if self.report_usage:
            completion["usage"] = self._usage()
        return completion

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> str:
        chunk = {
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        return f"data: {json.dumps(chunk)}\n\n"

    async def _stream(self, include_usage: bool) -> AsyncIterator[str]:
        finished = False
        try:
            yield self._chunk({"role": "assistant", "content": ""})
            await asyncio.sleep(self.first_token_delay_s)
            sent = 0
            tokens = self._tokens()
            while sent < len(tokens) or self.endless:
                if sent:
                    await asyncio.sleep(self.token_delay_s)
                if self.malformed_after_tokens is not None and sent == self.malformed_after_tokens:
                    yield "data: {this is not json\n\n"
                    finished = True
                    return
                token = tokens[sent % len(tokens)]
                if sent == 0:
                    self.first_token_sent.append(time.monotonic())
                yield self._chunk({"content": token})
                sent += 1
            yield self._chunk({}, finish="stop")
            if include_usage and self.report_usage:
                usage = {
                    "id": "chatcmpl-fake",
                    "object": "chat.completion.chunk",
                    "created": int(time.time()),
                    "model": self.model,
                    "choices": [],
                    "usage": self._usage(),
                }
                yield f"data: {json.dumps(usage)}\n\n"
            yield "data: [DONE]\n\n"
            finished = True
        finally:
            if finished:
                self.completed_streams += 1
            else:
                self.abandoned_streams += 1
                self.abandoned.set()
