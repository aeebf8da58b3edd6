"""What a service needs to expose its API to a gateway in another process (``/internal/...``).

The process mounts every component's routers when it assembles the app, before any component
starts (``ragline_cli.assembly``: the routes and the OpenAPI document exist from the first
moment), so an internal route exists before the service object it calls and before the token
that guards it has been read from the settings. :class:`StartedApi` holds
both from :meth:`StartedApi.bind` on; until then it fails closed with a retryable 503.

Retrieval and generation are both such a service: each provides one API, requires none and has
no middleware of its own, so :class:`InternalApiComponent` holds that part of their component
once. An internal route records the tenant its body names with :func:`acting_tenant`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Any, Generic, Protocol, TypeVar

from fastapi import APIRouter, Depends, Request
from pydantic import SecretStr
from starlette.middleware import Middleware

from ragline_common.errors import UpstreamUnavailable
from ragline_common.hosting import Api, ComponentHost, Requirement
from ragline_common.http.internal_auth import TokenSource, require_internal_token
from ragline_common.tenancy import TenantId

ApiT = TypeVar("ApiT")
ApiT_contra = TypeVar("ApiT_contra", contravariant=True)

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


class InternalRouterFactory(Protocol[ApiT_contra]):
    """Builds a service's internal router; ``service`` is resolved per request."""

    def __call__(
        self, *, service: Callable[[], ApiT_contra], internal_token: TokenSource
    ) -> APIRouter: ...


class InternalApiComponent(Generic[ApiT]):
    """The part of a hostable component that provides one API and serves it at ``/internal``.

    Co-hosted with the gateway, the service is handed over in-process and no internal route is
    mounted; in a process of its own, the same object answers at the routes ``router`` builds.
    A subclass writes ``start``, which builds the service and passes it to :meth:`serve`.
    """

    def __init__(self, *, name: str, api: Api[ApiT], router: InternalRouterFactory[ApiT]) -> None:
        self._name = name
        self._api = api
        self._router = router
        self._started: StartedApi[ApiT] = StartedApi(name)

    @property
    def name(self) -> str:
        return self._name

    @property
    def provides(self) -> Collection[Api[Any]]:
        return (self._api,)

    @property
    def requires(self) -> Collection[Requirement[Any]]:
        return ()

    def routers(self, *, internal_api: bool) -> Sequence[APIRouter]:
        if not internal_api:
            return []
        return [self._router(service=self._started.api, internal_token=self._started.token)]

    def middleware(self) -> Sequence[Middleware]:
        """None of its own: the shared request middleware is all an internal route needs."""
        return ()

    def serve(self, host: ComponentHost, service: ApiT) -> None:
        """Hand the started ``service`` to co-hosted callers and to the internal routes."""
        self._started.bind(service, host.settings.core.internal_token)
        host.provide(self._api, service)


class TenantScoped(Protocol):
    """An internal request body: the gateway names the tenant it acts for."""

    @property
    def tenant_id(self) -> TenantId: ...


def acting_tenant(request: Request, body: TenantScoped) -> TenantId:
    """The tenant ``body`` names, recorded on the request for its log line, span and metrics.

    Recording it is what binds the tenant to the request's telemetry (see
    :mod:`ragline_common.http.middleware`); reading it through this function means no internal
    route can pass the tenant on without recording it.
    """
    request.state.tenant_id = body.tenant_id
    return body.tenant_id
