"""One JSON-over-HTTP call to a peer service, with the error mapping every client shares.

The mapping decides what the gateway's caller sees when a peer fails:
- the peer rejected the *client's* input (400, 404, 409, 413, 415, 422, 429): the same error
  class, code and detail, so a bad query stays a 4xx end to end;
- the peer is down, slow, failing (5xx), or refused *our* call (401/403: a wrong internal token,
  a deployment mistake the client cannot fix): ``UpstreamUnavailable``, a 503 with
  ``Retry-After``.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import TypeVar

import httpx
from pydantic import BaseModel, SecretStr, ValidationError

from ragline_common.errors import (
    BadRequest,
    Conflict,
    NotFound,
    PayloadTooLarge,
    RaglineError,
    RateLimited,
    UnsupportedMediaType,
    UpstreamUnavailable,
    ValidationFailed,
)
from ragline_common.http.internal_auth import INTERNAL_TOKEN_HEADER
from ragline_common.observability.tracing import inject_context
from ragline_common.retry_after import retry_after_s

ResponseT = TypeVar("ResponseT", bound=BaseModel)

_CLIENT_ERRORS: dict[int, type[RaglineError]] = {
    400: BadRequest,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    415: UnsupportedMediaType,
    422: ValidationFailed,
}
_CODE_PATTERN = re.compile(r"[a-z0-9_]{1,64}")
_MAX_DETAIL_CHARS = 2000
_CONNECT_TIMEOUT_CAP_S = 2.0
_DEFAULT_RETRY_AFTER_S = 5.0


class InternalHttpClient:
    """Posts typed requests to one peer service and returns typed responses or raises."""

    def __init__(
        self, *, peer: str, base_url: str, internal_token: SecretStr | str | None, timeout_s: float
    ) -> None:
        self._peer = peer
        self._token = (
            SecretStr(internal_token) if isinstance(internal_token, str) else internal_token
        )
        # A peer that is down should fail fast even when a long read timeout suits its work.
        timeout = httpx.Timeout(timeout_s, connect=min(timeout_s, _CONNECT_TIMEOUT_CAP_S))
        self._http = httpx.AsyncClient(base_url=base_url, timeout=timeout)

    async def post(self, path: str, body: BaseModel, response_type: type[ResponseT]) -> ResponseT:
        return await self._call("POST", path, response_type, content=body.model_dump_json())

    async def get(self, path: str, response_type: type[ResponseT]) -> ResponseT:
        return await self._call("GET", path, response_type)

    @asynccontextmanager
    async def stream(self, path: str, body: BaseModel) -> AsyncIterator[httpx.Response]:
        """POST and hand over the response unread, to consume as it arrives (no buffering).

        Leaving the block closes the connection, which tells the peer to stop its work.
        Transport failures while reading map to ``UpstreamUnavailable`` as for :meth:`post`.
        """
        with self._transport_errors():
            async with self._http.stream(
                "POST", path, content=body.model_dump_json(), headers=self._headers()
            ) as response:
                if not response.is_success:
                    await response.aread()
                    raise self._error_from(response)
                yield response

    async def _call(
        self, method: str, path: str, response_type: type[ResponseT], content: str | None = None
    ) -> ResponseT:
        with self._transport_errors():
            response = await self._http.request(
                method, path, content=content, headers=self._headers()
            )
        if not response.is_success:
            raise self._error_from(response)
        try:
            return response_type.model_validate_json(response.content)
        except ValidationError as exc:
            raise UpstreamUnavailable(
                f"{self._peer} answered with a body that breaks the contract."
            ) from exc

    @contextmanager
    def _transport_errors(self) -> Iterator[None]:
        """A peer that times out or cannot be reached is an outage (503), not a bug (500)."""
        try:
            yield
        except httpx.TimeoutException as exc:
            raise UpstreamUnavailable(f"{self._peer} did not answer in time.") from exc
        except httpx.RequestError as exc:
            raise UpstreamUnavailable(f"{self._peer} is unreachable.") from exc

    def _headers(self) -> dict[str, str]:
        headers = {"content-type": "application/json", **inject_context()}
        if self._token is not None:
            headers[INTERNAL_TOKEN_HEADER] = self._token.get_secret_value()
        return headers

    async def ping(self) -> None:
        """Readiness check: the peer process answers.

        It asks the peer's liveness, not its readiness: if a peer's own dependency is down, its
        requests fail with 503 anyway, and chaining readiness would take every gateway out of
        the load balancer (uploads included) because one retrieval replica is unready.
        """
        try:
            response = await self._http.get("/healthz")
        except httpx.RequestError as exc:
            raise UpstreamUnavailable(f"{self._peer} is unreachable.") from exc
        if not response.is_success:
            raise UpstreamUnavailable(f"{self._peer} failed its liveness check.")

    async def aclose(self) -> None:
        await self._http.aclose()

    def _error_from(self, response: httpx.Response) -> RaglineError:
        status = response.status_code
        retry_after = retry_after_s(response.headers)
        error_class = _CLIENT_ERRORS.get(status)
        if error_class is None and status != 429:
            return UpstreamUnavailable(
                f"{self._peer} failed with HTTP {status}.",
                retry_after_s=retry_after or _DEFAULT_RETRY_AFTER_S,
            )
        code, detail = _problem_fields(response)
        if status == 429:
            return RateLimited(
                detail or "Too many requests.",
                retry_after_s=retry_after or _DEFAULT_RETRY_AFTER_S,
                code=code,
            )
        assert error_class is not None
        return error_class(detail or error_class.title, code=code)


def _problem_fields(response: httpx.Response) -> tuple[str | None, str | None]:
    """``code`` and ``detail`` of a problem+json body, ignoring anything malformed."""
    try:
        body = response.json()
    except ValueError:
        return None, None
    if not isinstance(body, dict):
        return None, None
    code = body.get("code")
    detail = body.get("detail")
    return (
        code if isinstance(code, str) and _CODE_PATTERN.fullmatch(code) else None,
        detail[:_MAX_DETAIL_CHARS] if isinstance(detail, str) and detail else None,
    )
