"""``AnswerApi`` over HTTP: the gateway's view of a generation service in another process.

A streamed answer arrives as newline-delimited JSON and is parsed line by line as bytes come
in, so each event reaches the gateway's client without waiting for the next. Closing the event
iterator early (the public client went away) closes the connection, and generation cancels the
model call in turn.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

from pydantic import SecretStr, ValidationError

from ragline_common.clients.internal_http import InternalHttpClient
from ragline_common.contracts.answer import (
    ANSWER_EVENT,
    Answer,
    AnswerEvent,
    AnswerRequest,
    InternalAnswerRequest,
    InternalRewriteRequest,
    ModelList,
    RewriteRequest,
    RewrittenQuestion,
)
from ragline_common.errors import UpstreamUnavailable
from ragline_common.http.internal_routes import (
    ANSWER_PATH,
    ANSWER_STREAM_PATH,
    MODELS_PATH,
    REWRITE_PATH,
)
from ragline_common.tenancy import TenantId


class HttpAnswerClient:
    def __init__(
        self, base_url: str, internal_token: SecretStr | str | None, timeout_s: float = 60.0
    ) -> None:
        self._client = InternalHttpClient(
            peer="generation", base_url=base_url, internal_token=internal_token, timeout_s=timeout_s
        )

    async def answer(self, tenant_id: TenantId, request: AnswerRequest) -> Answer:
        body = InternalAnswerRequest(tenant_id=tenant_id, request=request)
        return await self._client.post(ANSWER_PATH, body, Answer)

    async def stream(
        self, tenant_id: TenantId, request: AnswerRequest
    ) -> AsyncGenerator[AnswerEvent, None]:
        body = InternalAnswerRequest(tenant_id=tenant_id, request=request)
        async with self._client.stream(ANSWER_STREAM_PATH, body) as response:
            async for line in response.aiter_lines():
                if not line.strip():
                    continue
                try:
                    event = ANSWER_EVENT.validate_json(line)
                except ValidationError as exc:
                    raise UpstreamUnavailable(
                        "generation streamed an event that breaks the contract."
                    ) from exc
                yield event
                if event.event in ("done", "error"):
                    return
        # The connection ended before the answer did (generation crashed or was cut off).
        raise UpstreamUnavailable("generation ended the answer stream early.")

    async def rewrite(self, tenant_id: TenantId, request: RewriteRequest) -> RewrittenQuestion:
        body = InternalRewriteRequest(tenant_id=tenant_id, request=request)
        return await self._client.post(REWRITE_PATH, body, RewrittenQuestion)

    async def models(self) -> ModelList:
        return await self._client.get(MODELS_PATH, ModelList)

    async def ping(self) -> None:
        await self._client.ping()

    async def aclose(self) -> None:
        await self._client.aclose()
