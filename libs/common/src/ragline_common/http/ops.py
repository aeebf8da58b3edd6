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


class _Checks:
    """Runs the readiness checks, each bounded by the timeout, none piled up.

    At the timeout a check is cancelled but not waited for: a client stuck on a hung link may
    take long to give up (the catalog's driver first tries to close its connection over that
    same link), and a probe that outlives its own timeout is as bad as no answer. A check still
    winding down is not started again by the next probe, which waits on the same run instead,
    so a hung dependency never accumulates one stuck call per probe.
    """

    def __init__(self, checks: Mapping[str, ReadinessCheck]) -> None:
        self._checks = checks
        self._running: dict[str, asyncio.Future[None]] = {}
        self._cancelled: set[asyncio.Future[None]] = set()

    async def run(self, name: str) -> str:
        run = self._running.get(name)
        if run is None:
            run = asyncio.ensure_future(self._checks[name]())
            self._running[name] = run
            run.add_done_callback(lambda done: self._finished(name, done))
        try:
            await asyncio.wait({run}, timeout=_CHECK_TIMEOUT_S)
        except asyncio.CancelledError:
            run.cancel()  # the probe itself was abandoned (client gone, server stopping)
            raise
        if not run.done():
            if run not in self._cancelled:
                # Once: cancelling again would cut short the client's own cleanup.
                self._cancelled.add(run)
                run.cancel()
            return "timeout"
        if run.cancelled():
            return "timeout"  # an earlier probe's run, cancelled at its deadline
        failure = run.exception()
        return "ok" if failure is None else f"failed: {type(failure).__name__}"

    def _finished(self, name: str, run: asyncio.Future[None]) -> None:
        if self._running.get(name) is run:
            del self._running[name]
        self._cancelled.discard(run)
        if not run.cancelled():
            run.exception()  # retrieved: an abandoned run's failure is no "never retrieved" error


def ops_router(checks: Mapping[str, ReadinessCheck]) -> APIRouter:
    router = APIRouter(tags=["ops"])
    runner = _Checks(checks)

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
        results = await asyncio.gather(*(runner.run(name) for name in names))
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
