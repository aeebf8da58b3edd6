"""Serve the public app and, beside it, the metrics listener, in one process and event loop.

Metrics name tenants, so they have their own listener (``RAGLINE_METRICS_HOST:PORT``) that only
Prometheus should reach, while the public port serves the API, ``/healthz`` and ``/readyz``.
Both are uvicorn servers on the same loop: no thread, one log configuration, and the metrics
listener is up while the services load and drain, so a scrape sees start-up and shutdown too.
"""

from __future__ import annotations

import asyncio

import uvicorn
from fastapi import FastAPI

from ragline_common.http.ops import metrics_app
from ragline_common.settings import CoreSettings

_METRICS_GRACE_S = 5
"""A scrape takes milliseconds; nothing on the metrics listener is worth a longer wait."""


def serve(app: FastAPI, core: CoreSettings) -> None:
    """Run until SIGTERM or SIGINT; the public server's lifespan starts and stops the services."""
    public = uvicorn.Server(
        uvicorn.Config(
            app,
            host=core.host,
            port=core.port,
            log_config=None,
            lifespan="on",
            timeout_graceful_shutdown=int(core.shutdown_grace_s),
            proxy_headers=False,
        )
    )
    if core.metrics_port == 0:
        public.run()
        return
    metrics = uvicorn.Server(
        uvicorn.Config(
            metrics_app(),
            host=core.metrics_host,
            port=core.metrics_port,
            log_config=None,
            lifespan="off",
            access_log=False,
            timeout_graceful_shutdown=_METRICS_GRACE_S,
            proxy_headers=False,
        )
    )
    with asyncio.Runner(loop_factory=public.config.get_loop_factory()) as runner:
        runner.run(serve_beside(public, metrics))


async def serve_beside(public: uvicorn.Server, metrics: uvicorn.Server) -> None:
    """Run ``metrics`` for as long as ``public`` runs, and stop it after ``public`` has stopped.

    Each uvicorn server installs its signal handlers while it serves and, once shut down,
    restores the previous ones and re-raises the signal it caught (so the exit status still
    says SIGTERM). The metrics server starts first, so the public server's handlers sit on top:
    SIGTERM drains the public server and closes the services; its re-raised signal then reaches
    the metrics server's handler, which closes that listener and re-raises with the default
    handler back. If the public server cannot start, the metrics server is stopped all the same.
    """
    metrics_task = asyncio.create_task(metrics.serve())
    try:
        while not metrics.started:
            if metrics_task.done():
                metrics_task.result()  # re-raises why it could not start (port taken, ...)
                return  # a signal stopped it before it started: stop here too
            await asyncio.sleep(0.01)
        await public.serve()
    finally:
        metrics.should_exit = True
        await metrics_task
