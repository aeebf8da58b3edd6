"""Assemble one FastAPI app from the services hosted in this process.

Services start in the order their declarations need (:func:`~ragline_cli.wiring.start_order`:
retrieval and generation before a gateway that requires them) and stop in reverse, through one
exit stack. Assembly refuses, before anything starts, declarations that do not fit together and
internal routes that would be open to the network (see
:func:`~ragline_common.http.internal_auth.refuse_open_internal_api`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import structlog
from fastapi import FastAPI

from ragline_cli.hosting import ProcessHost, WiredHost, WiringError
from ragline_cli.wiring import ServiceComponent, start_order
from ragline_common.hosting import Api
from ragline_common.http.internal_auth import refuse_open_internal_api
from ragline_common.http.middleware import RequestObservabilityMiddleware
from ragline_common.http.ops import ReadinessCheck, ops_router
from ragline_common.http.telemetry import request_telemetry
from ragline_common.problem import install_problem_handlers
from ragline_common.settings import InfrastructureSettings

_log = structlog.get_logger(__name__)


def assemble_app(
    components: Sequence[ServiceComponent], settings: InfrastructureSettings
) -> FastAPI:
    ordered = start_order(components)
    names = [component.name for component in ordered]
    checks: dict[str, ReadinessCheck] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            host = ProcessHost(settings, stack, checks)
            provided: dict[Api[Any], Any] = {}
            for component in ordered:
                await _start(component, host, provided)
                _log.info("service_started", service=component.name)
            app.state.host = host
            yield
            _log.info("services_stopping", services=names)

    app = FastAPI(
        title="Ragline",
        version="0.1.0",
        summary="Multi-tenant retrieval-augmented generation",
        lifespan=lifespan,
        # The server span starts before anything else runs (Starlette's error middleware
        # included), so the request middleware, errors and handlers all log and trace inside it.
        telemetry=request_telemetry(),
    )
    internal_api = "gateway" not in names
    routers = {
        component.name: component.routers(internal_api=internal_api) for component in ordered
    }
    if internal_api:
        exposing = [name for name, mounted in routers.items() if mounted]
        if exposing:
            refuse_open_internal_api(settings.core, exposing)
    for mounted in routers.values():
        for router in mounted:
            app.include_router(router)
    app.include_router(ops_router(checks))
    install_problem_handlers(app)
    for component in ordered:
        for middleware in component.middleware():
            app.add_middleware(middleware.cls, *middleware.args, **middleware.kwargs)
    app.add_middleware(RequestObservabilityMiddleware, service=",".join(names))
    return app


async def _start(
    component: ServiceComponent, host: ProcessHost, provided: dict[Api[Any], Any]
) -> None:
    wired = WiredHost(
        host,
        component.name,
        provides=component.provides,
        requires=component.requires,
        provided=provided,
    )
    await component.start(wired)
    missing = wired.missing_provisions()
    if missing:
        raise WiringError(f"{component.name} started without providing {', '.join(missing)}")
