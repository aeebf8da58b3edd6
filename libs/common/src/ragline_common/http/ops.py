"""Operations endpoints: ``/healthz`` and ``/readyz`` on every public app, ``/metrics`` apart.

Liveness says only that the process serves HTTP (a restart would not fix a broken dependency);
readiness runs each dependency check with a timeout and answers 503 with the failing ones, so a
load balancer stops sending traffic without killing the pod.

Metrics name tenants (requests, tokens and cost per tenant), so they are not on the public app
at all: :func:`metrics_app` is a separate ASGI app that the process serves on its own listener
(``RAGLINE_METRICS_HOST:RAGLINE_METRICS_PORT``, see ``ragline_cli.serving``), which operators
expose to Prometheus only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ragline_common.observability.metrics import REGISTRY

ReadinessCheck = Callable[[], Awaitable[None]]
_CHECK_TIMEOUT_S = 3.0


async def _run_check(check: ReadinessCheck) -> str:
    try:
        await asyncio.wait_for(check(), timeout=_CHECK_TIMEOUT_S)
    except TimeoutError:
        return "timeout"
    except Exception as exc:
        return f"failed: {type(exc).__name__}"
    return "ok"


def ops_router(checks: Mapping[str, ReadinessCheck]) -> APIRouter:
    router = APIRouter(tags=["ops"])

    @router.get("/healthz", summary="Liveness")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get(
        "/readyz",
        summary="Readiness: every dependency answers",
        responses={503: {"description": "A dependency is not ready"}},
    )
    async def readyz() -> JSONResponse:
        names = list(checks)
        results = await asyncio.gather(*(_run_check(checks[name]) for name in names))
        outcome = dict(zip(names, results, strict=True))
        ready = all(result == "ok" for result in results)
        return JSONResponse(
            {"status": "ready" if ready else "not_ready", "checks": outcome},
            status_code=200 if ready else 503,
        )

    return router


def metrics_app() -> Starlette:
    """The metrics listener's whole app: ``GET /metrics`` in Prometheus text, 404 for the rest."""

    async def metrics(_request: Request) -> Response:
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    return Starlette(routes=[Route("/metrics", metrics, methods=["GET"])])
