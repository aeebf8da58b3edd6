"""The public app of every target has no ``/metrics``; the metrics server lives and dies with it."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import httpx
import pytest
import uvicorn

from ragline_cli.runner import build_app
from ragline_cli.serving import serve_beside
from ragline_common.http.ops import metrics_app
from ragline_common.settings import CoreSettings
from ragline_testing.harness import LOOPBACK, embedded_settings, unused_port

START_BUDGET_S = 10.0


@pytest.mark.parametrize(
    "targets", ["gateway", "ingestion", "retrieval", "generation", "retrieval,generation", "all"]
)
async def test_no_public_app_serves_metrics(tmp_path: Path, targets: str) -> None:
    settings = embedded_settings(CoreSettings(data_dir=tmp_path))
    app = build_app(frozenset(targets.split(",")), settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://ragline") as client:
        response = await client.get("/metrics")
    assert response.status_code == 404
    assert "/metrics" not in app.openapi()["paths"]


def _server(app: object, port: int) -> uvicorn.Server:
    return uvicorn.Server(
        uvicorn.Config(app, host=LOOPBACK, port=port, lifespan="off", log_level="warning")  # type: ignore[arg-type]
    )


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex((LOOPBACK, port)) == 0


async def test_the_metrics_server_runs_while_the_public_one_does_and_stops_after_it() -> None:
    public_port, metrics_port = unused_port(), unused_port()
    public, metrics = _server(metrics_app(), public_port), _server(metrics_app(), metrics_port)
    serving = asyncio.create_task(serve_beside(public, metrics))
    async with asyncio.timeout(START_BUDGET_S):
        while not public.started:
            assert not serving.done(), serving
            await asyncio.sleep(0.01)
    assert metrics.started, "the metrics listener starts first"
    async with httpx.AsyncClient() as client:
        scraped = await client.get(f"http://{LOOPBACK}:{metrics_port}/metrics")
    assert scraped.status_code == 200

    public.should_exit = True  # what SIGTERM does
    async with asyncio.timeout(START_BUDGET_S):
        await serving
    assert not _listening(public_port)
    assert not _listening(metrics_port)


async def test_a_public_server_that_cannot_start_takes_the_metrics_server_down() -> None:
    public_port, metrics_port = unused_port(), unused_port()
    with socket.socket() as squatter:
        squatter.bind((LOOPBACK, public_port))
        squatter.listen()
        public, metrics = _server(metrics_app(), public_port), _server(metrics_app(), metrics_port)
        with pytest.raises(SystemExit):
            async with asyncio.timeout(START_BUDGET_S):
                await serve_beside(public, metrics)
    assert not _listening(metrics_port)
