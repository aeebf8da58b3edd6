"""``/healthz``, ``/readyz`` and ``/metrics``, identical in every service.

Liveness says only that the process serves HTTP (a restart would not fix a broken dependency);
readiness runs each dependency check with a timeout and answers 503 with the failing ones, so a
load balancer stops sending traffic without killing the pod.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

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

    @router.get("/metrics", summary="Prometheus metrics", response_class=Response)
    async def metrics() -> Response:
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    return router
