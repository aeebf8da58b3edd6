""":class:`~ragline_generation.ports.chat_model.ChatModel` on the official ``openai`` async client.

Any server that speaks the chat-completions protocol works (OpenAI, vLLM, Ollama, llama.cpp
server). The client's own retries are switched off and done here instead, for two reasons: a
``Retry-After`` longer than the user will wait must end the attempt at once (the caller then
answers extractively), and a streamed answer's retries must fit in the first-token deadline.
Only a call that produced nothing yet is retried; once tokens flowed, a failure is final.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from typing import Any, TypeVar

import openai
from openai.types.chat import ChatCompletionMessageParam

from ragline_common.backoff import backoff_delay
from ragline_common.retry_after import retry_after_s
from ragline_generation.ports.chat_model import (
    ChatCompletion,
    ChatDelta,
    ChatFailure,
    ChatMessage,
    ChatModelError,
    ChatUsage,
)
from ragline_generation.settings import LlmSettings

T = TypeVar("T")

_NO_KEY = "not-needed"
"""The client insists on a key; local servers ignore it."""
_MALFORMED = (ValueError, TypeError, AttributeError, KeyError, IndexError)
"""What a chunk that is not a chat-completion chunk raises while being read."""


def _classify(exc: Exception) -> tuple[ChatFailure, bool]:
    """The failure's reason, and whether trying again may help."""
    if isinstance(exc, openai.APITimeoutError):
        return "timeout", True
    if isinstance(exc, openai.APIConnectionError):
        return "unreachable", True
    if isinstance(exc, openai.APIStatusError):
        if exc.status_code == 429:
            return "rate_limited", True
        if exc.status_code >= 500 or exc.status_code == 408:
            return "server_error", True
        return "rejected", False
    return "malformed_response", False


def _usage(raw: Any) -> ChatUsage | None:
    if raw is None:
        return None
    prompt = getattr(raw, "prompt_tokens", None)
    completion = getattr(raw, "completion_tokens", None)
    if not isinstance(prompt, int) or not isinstance(completion, int):
        return None
    return ChatUsage(prompt_tokens=prompt, completion_tokens=completion)


def _chunk_text(chunk: Any) -> str:
    """The content of a streamed chunk (empty for role-only and usage-only chunks)."""
    choices = chunk.choices
    if choices is None:
        return ""
    if not isinstance(choices, list):
        raise TypeError("choices is not a list")
    if not choices:
        return ""
    delta = choices[0].delta
    content = None if delta is None else delta.content
    if content is not None and not isinstance(content, str):
        raise TypeError("delta content is not text")
    return content or ""


class OpenAIChatModel:
    def __init__(self, settings: LlmSettings) -> None:
        if settings.base_url is None:
            raise ValueError("an LLM needs RAGLINE_LLM_BASE_URL")
        self._settings = settings
        api_key = settings.api_key.get_secret_value() if settings.api_key else _NO_KEY
        self._client = openai.AsyncOpenAI(
            base_url=settings.base_url,
            api_key=api_key,
            max_retries=0,
            timeout=openai.Timeout(settings.read_timeout_s, connect=settings.connect_timeout_s),
        )

    @property
    def model_id(self) -> str:
        return self._settings.model

    async def aclose(self) -> None:
        await self._client.close()

    def _wire(self, messages: Sequence[ChatMessage]) -> list[ChatCompletionMessageParam]:
        wire: list[ChatCompletionMessageParam] = []
        for message in messages:
            match message.role:
                case "system":
                    wire.append({"role": "system", "content": message.content})
                case "user":
                    wire.append({"role": "user", "content": message.content})
                case "assistant":
                    wire.append({"role": "assistant", "content": message.content})
        return wire

    async def _with_retries(self, call: Callable[[], Awaitable[T]], deadline: float) -> T:
        """``call`` until it succeeds, a failure is final, or waiting would pass ``deadline``."""
        attempt = 0
        while True:
            try:
                async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
                    return await call()
            except TimeoutError as exc:
                raise ChatModelError("timeout", "no answer before the deadline") from exc
            except openai.APIError as exc:
                reason, retryable = _classify(exc)
                retry_after = (
                    retry_after_s(exc.response.headers)
                    if isinstance(exc, openai.APIStatusError)
                    else None
                )
                delay = (
                    retry_after
                    if retry_after is not None
                    else backoff_delay(attempt, base_s=self._settings.retry_base_s, cap_s=4.0)
                )
                if (
                    not retryable
                    or attempt >= self._settings.max_retries
                    or delay > self._settings.max_retry_wait_s
                    or time.monotonic() + delay >= deadline
                ):
                    raise ChatModelError(reason, type(exc).__name__) from exc
            await asyncio.sleep(delay)
            attempt += 1

    def _request(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int,
        temperature: float,
        stream: bool = False,
    ) -> Callable[[], Awaitable[Any]]:
        """One chat-completions request, ready to be sent again by ``_with_retries``."""
        # Streamed, the last chunk carries the usage: billing needs it.
        streaming: dict[str, Any] = (
            {"stream": True, "stream_options": {"include_usage": True}} if stream else {}
        )

        async def call() -> Any:
            return await self._client.chat.completions.create(
                model=self._settings.model,
                messages=self._wire(messages),
                max_tokens=max_tokens,
                temperature=temperature,
                **streaming,
            )

        return call

    async def complete(
        self, messages: Sequence[ChatMessage], *, max_tokens: int, temperature: float
    ) -> ChatCompletion:
        deadline = time.monotonic() + self._settings.read_timeout_s
        call = self._request(messages, max_tokens=max_tokens, temperature=temperature)
        response = await self._with_retries(call, deadline)
        try:
            text = response.choices[0].message.content or ""
            if not isinstance(text, str):
                raise TypeError("message content is not text")
        except _MALFORMED as exc:
            raise ChatModelError("malformed_response", "no message in the completion") from exc
        return ChatCompletion(
            text=text,
            model=str(getattr(response, "model", None) or self._settings.model),
            usage=_usage(getattr(response, "usage", None)),
        )

    async def stream(
        self, messages: Sequence[ChatMessage], *, max_tokens: int, temperature: float
    ) -> AsyncGenerator[ChatDelta, None]:
        deadline = time.monotonic() + self._settings.first_token_timeout_s
        call = self._request(
            messages,
            max_tokens=max_tokens,
            temperature=temperature,
            stream=True,
        )
        stream = await self._with_retries(call, deadline)
        # ``async with`` closes the HTTP response however this generator ends: exhausted,
        # failed, or closed early because the client went away (the server sees the disconnect).
        async with stream:
            chunks = stream.__aiter__()
            first_token = False
            while True:
                try:
                    if first_token:
                        chunk = await anext(chunks)
                    else:
                        async with asyncio.timeout_at(_loop_time(deadline)):
                            chunk = await anext(chunks)
                    text = _chunk_text(chunk)
                    usage = _usage(getattr(chunk, "usage", None))
                except StopAsyncIteration:
                    return
                except TimeoutError as exc:
                    raise ChatModelError("timeout", "no first token before the deadline") from exc
                except openai.APIError as exc:
                    raise ChatModelError(_classify(exc)[0], type(exc).__name__) from exc
                except _MALFORMED as exc:
                    raise ChatModelError("malformed_response", "unreadable stream chunk") from exc
                if text:
                    first_token = True
                if text or usage is not None:
                    yield ChatDelta(text=text, usage=usage)


def _loop_time(monotonic_deadline: float) -> float:
    """A ``time.monotonic`` deadline on the event loop's clock (``asyncio.timeout_at``)."""
    return asyncio.get_running_loop().time() + (monotonic_deadline - time.monotonic())
