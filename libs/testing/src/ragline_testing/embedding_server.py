"""A scriptable server that speaks OpenAI's ``POST /v1/embeddings``, for tests and benchmarks.

Its vectors come from a real :class:`~ragline_common.ports.embedder.Embedder` handed in as the
``engine`` (the local all-MiniLM-L6-v2 where a test compares vectors, the hashing embedder
where only the protocol matters), so a remote embedder under test can be checked against the
local model it stands in for. Served over real HTTP on loopback
(:func:`ragline_testing.harness.serve_asgi`), the client under test uses the real ``openai``
client, sockets and timeouts.

Public attributes script what real providers do to clients: refuse with 429 and a
``Retry-After``, fail with 5xx, answer slowly, answer vectors of the wrong size or not
normalised, omit or report usage, cap the inputs per request, refuse a key or a model. Every
request is recorded, with its arrival time, for tests to assert on.
"""

from __future__ import annotations

import asyncio
import base64
import struct
import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ragline_common.adapters.embedder.openai_compatible import OpenAICompatibleEmbedder
from ragline_common.ports.embedder import Embedder
from ragline_testing.harness import serve_asgi

FAST_RETRY_BASE_S = 0.01
"""Backoff base for tests: retries happen, in milliseconds."""


@dataclass(frozen=True)
class EmbeddingRefusal:
    """One call answered with an error status instead of embeddings."""

    status: int
    retry_after_s: float | None = None
    retry_after_ms: float | None = None


@dataclass
class FakeEmbeddingServer:
    """Answers ``POST /v1/embeddings`` as scripted by its public attributes."""

    engine: Embedder
    model: str = "all-MiniLM-L6-v2"
    """The only model it serves; any other is a 404 ``model_not_found``, as OpenAI answers."""
    api_key: str | None = None
    """When set, any other bearer token is a 401 whose message quotes the token (OpenAI's
    does, masked): a client must not repeat provider messages into its logs."""
    max_inputs: int | None = None
    """A provider's cap on inputs per request; more is a 400."""
    refusals: deque[EmbeddingRefusal] = field(default_factory=deque)
    """Consumed one per call, before any call succeeds."""
    always_fail: int | None = None
    """Status every call fails with (a provider that is down)."""
    delays_s: deque[float] = field(default_factory=deque)
    """Consumed one per call: how long that call waits before answering."""
    answer_dimension: int | None = None
    """Cut (or zero-pad) every vector to this size: a provider serving another model."""
    scale: float = 1.0
    """Multiply every vector: a provider that does not normalise."""
    report_usage: bool = True
    """Report ``usage.prompt_tokens`` (the engine's token count of the inputs)."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    authorizations: list[str] = field(default_factory=list)
    arrivals: list[float] = field(default_factory=list)
    """``time.monotonic()`` when each call arrived."""
    reported_tokens: int = 0
    """Sum of the ``prompt_tokens`` this server reported."""

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/v1/embeddings", self._handle, methods=["POST"])])

    @property
    def batch_sizes(self) -> list[int]:
        return [len(_inputs(body)) for body in self.requests]

    async def _handle(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append(body)
        self.arrivals.append(time.monotonic())
        authorization = request.headers.get("authorization", "")
        self.authorizations.append(authorization)
        if self.delays_s:
            await asyncio.sleep(self.delays_s.popleft())
        refusal = self.refusals.popleft() if self.refusals else None
        if refusal is None and self.always_fail is not None:
            refusal = EmbeddingRefusal(self.always_fail)
        if refusal is not None:
            return _refuse(refusal)
        token = authorization.removeprefix("Bearer ")
        if self.api_key is not None and token != self.api_key:
            message = f"Incorrect API key provided: {token}."
            return _error(401, message, "invalid_request_error", "invalid_api_key")
        if body.get("model") != self.model:
            return _error(
                404, "The model does not exist.", "invalid_request_error", "model_not_found"
            )
        inputs = _inputs(body)
        if self.max_inputs is not None and len(inputs) > self.max_inputs:
            return _error(400, "Too many inputs.", "invalid_request_error", None)
        vectors = [self._shape(vector) for vector in await self.engine.embed_documents(inputs)]
        as_base64 = body.get("encoding_format") == "base64"
        answer: dict[str, Any] = {
            "object": "list",
            "model": self.model,
            "data": [
                {
                    "object": "embedding",
                    "index": index,
                    "embedding": _base64(vector) if as_base64 else vector,
                }
                for index, vector in enumerate(vectors)
            ],
        }
        if self.report_usage:
            tokens = sum(self.engine.count_tokens(text) for text in inputs)
            self.reported_tokens += tokens
            answer["usage"] = {"prompt_tokens": tokens, "total_tokens": tokens}
        return JSONResponse(answer)

    def _shape(self, vector: list[float]) -> list[float]:
        if self.answer_dimension is not None:
            vector = (vector + [0.0] * self.answer_dimension)[: self.answer_dimension]
        return [value * self.scale for value in vector]


@asynccontextmanager
async def remote_embedder(
    server: FakeEmbeddingServer, **options: Any
) -> AsyncIterator[OpenAICompatibleEmbedder]:
    """Serve ``server`` on loopback and yield a warmed-up client of it; ``options`` go to
    :class:`OpenAICompatibleEmbedder` (``retry_base_s`` defaults to milliseconds)."""
    options.setdefault("retry_base_s", FAST_RETRY_BASE_S)
    async with serve_asgi(server.app()) as url:
        embedder = OpenAICompatibleEmbedder(base_url=f"{url}/v1", model=server.model, **options)
        try:
            await embedder.warm_up()
            yield embedder
        finally:
            await embedder.aclose()


def _inputs(body: dict[str, Any]) -> list[str]:
    value = body.get("input")
    return [value] if isinstance(value, str) else list(value or [])


def _base64(vector: list[float]) -> str:
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()


def _error(status: int, message: str, kind: str, code: str | None) -> JSONResponse:
    return JSONResponse(
        {"error": {"message": message, "type": kind, "param": None, "code": code}},
        status_code=status,
    )


def _refuse(refusal: EmbeddingRefusal) -> JSONResponse:
    headers = {}
    if refusal.retry_after_s is not None:
        headers["retry-after"] = f"{refusal.retry_after_s:g}"
    if refusal.retry_after_ms is not None:
        headers["retry-after-ms"] = f"{refusal.retry_after_ms:g}"
    response = _error(refusal.status, "scripted failure", "server_error", None)
    response.headers.update(headers)
    return response
