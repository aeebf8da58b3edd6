"""What a service needs to expose its API to a gateway in another process (``/internal/...``).

The process mounts every component's routers when it assembles the app, before any component
starts (``ragline_cli.assembly``: the routes and the OpenAPI document exist from the first
moment), so an internal route exists before the service object it calls and before the token
that guards it has been read from the settings. :class:`StartedApi` holds
both from :meth:`StartedApi.bind` on; until then it fails closed with a retryable 503.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from fastapi import APIRouter, Depends
from pydantic import SecretStr

from ragline_common.errors import UpstreamUnavailable
from ragline_common.http.internal_auth import TokenSource, require_internal_token

ApiT = TypeVar("ApiT")

_UNAUTHORIZED: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or wrong internal token"}
}


def internal_api_router(internal_token: TokenSource) -> APIRouter:
    """A router whose every route demands the internal token: one cannot forget the guard."""
    return APIRouter(
        tags=["internal"],
        dependencies=[Depends(require_internal_token(internal_token))],
        responses=_UNAUTHORIZED,
    )


class StartedApi(Generic[ApiT]):
    """The service behind a component's internal router, and the token it demands, once started.

    Pass :meth:`api` and :meth:`token` (unbound calls, resolved per request) to the router.
    """

    def __init__(self, service_name: str) -> None:
        self._service_name = service_name
        self._api: ApiT | None = None
        self._token: SecretStr | None = None

    def bind(self, api: ApiT, internal_token: SecretStr | None) -> None:
        self._token = internal_token
        self._api = api

    def api(self) -> ApiT:
        if self._api is None:
            raise self._starting()
        return self._api

    def token(self) -> SecretStr | None:
        # Fail closed: before bind() the configured token is unknown, so nothing gets through.
        if self._api is None:
            raise self._starting()
        return self._token

    def _starting(self) -> UpstreamUnavailable:
        return UpstreamUnavailable(
            f"The {self._service_name} service is still starting.", retry_after_s=1
        )
