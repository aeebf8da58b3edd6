"""Metrics live on their own listener: the public ops routes carry no tenant data.

``/metrics`` lists tenant ids with their traffic, tokens and cost, so it is served only by
:func:`~ragline_common.http.ops.metrics_app` on ``RAGLINE_METRICS_HOST:RAGLINE_METRICS_PORT``;
the app every service mounts on its public port answers 404 there.
"""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import ValidationError

from ragline_common.http.ops import metrics_app, ops_router
from ragline_common.observability import metrics
from ragline_common.settings import CoreSettings

TENANT = "tenant_metrics_listener_probe"


def _count_traffic_of(tenant: str) -> None:
    metrics.HTTP_REQUESTS.labels(
        service="gateway", method="POST", route="/v1/search", status="200", tenant=tenant
    ).inc()
    metrics.LLM_COST.labels(model="fake-model", tenant=tenant).inc(0.25)


async def _get(app: object, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://ragline") as client:
        return await client.get(path)


def _public_ops_app() -> FastAPI:
    async def ok() -> None:
        return None

    app = FastAPI()
    app.include_router(ops_router({"catalog": ok}))
    return app


async def test_the_public_ops_routes_have_no_metrics_and_no_tenant_data() -> None:
    _count_traffic_of(TENANT)
    app = _public_ops_app()

    assert (await _get(app, "/metrics")).status_code == 404
    for path in ("/healthz", "/readyz", "/openapi.json"):
        response = await _get(app, path)
        assert response.status_code == 200, path
        assert TENANT not in response.text, path
    assert "/metrics" not in (await _get(app, "/openapi.json")).json()["paths"]


async def test_the_metrics_listener_serves_prometheus_text_with_tenant_series() -> None:
    _count_traffic_of(TENANT)

    response = await _get(metrics_app(), "/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"] == CONTENT_TYPE_LATEST
    assert f'tenant="{TENANT}"' in response.text
    assert "ragline_llm_cost_usd_total" in response.text


@pytest.mark.parametrize("path", ["/", "/healthz", "/readyz", "/v1/search", "/metrics/x"])
async def test_the_metrics_listener_serves_nothing_else(path: str) -> None:
    assert (await _get(metrics_app(), path)).status_code == 404


def test_the_metrics_listener_defaults_to_loopback_on_its_own_port(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("RAGLINE_PORT", "RAGLINE_METRICS_PORT", "RAGLINE_METRICS_HOST"):
        monkeypatch.delenv(name, raising=False)
    core = CoreSettings()
    assert (core.metrics_host, core.metrics_port) == ("127.0.0.1", 9464)
    monkeypatch.setenv("RAGLINE_METRICS_PORT", "0")
    assert CoreSettings().metrics_port == 0, "0 turns the metrics listener off"


def test_the_metrics_port_cannot_be_the_public_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAGLINE_PORT", "8000")
    monkeypatch.setenv("RAGLINE_METRICS_PORT", "8000")
    with pytest.raises(ValidationError, match="metrics_port"):
        CoreSettings()
