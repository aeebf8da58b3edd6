from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel, ValidationError

from ragline_common.errors import NotFound, RateLimited, UpstreamUnavailable
from ragline_common.ids import chunk_point_id, new_id
from ragline_common.problem import install_problem_handlers
from ragline_common.settings import CatalogSettings, CoreSettings, load_infrastructure_settings
from ragline_common.tenancy import TenantId


def test_every_setting_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("RAGLINE_PORT", "9123")
    monkeypatch.setenv("RAGLINE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("RAGLINE_BROKER_KIND", "rabbitmq")
    monkeypatch.setenv("RAGLINE_VECTOR_STORE_KIND", "qdrant")
    monkeypatch.setenv("RAGLINE_EMBEDDER_BATCH_SIZE", "16")
    settings = load_infrastructure_settings()
    assert settings.core.port == 9123
    assert settings.core.data_dir == tmp_path
    assert settings.broker.kind == "rabbitmq"
    assert settings.vector_store.kind == "qdrant"
    assert settings.embedder.batch_size == 16
    assert settings.catalog.resolved_url(tmp_path).startswith("sqlite+aiosqlite:///")
    assert (
        CatalogSettings(url="postgresql+asyncpg://u@h/db").resolved_url(tmp_path)
        == "postgresql+asyncpg://u@h/db"
    )


@pytest.mark.parametrize("token", ["changeme", "secret", "short"])
def test_placeholder_secrets_are_refused(token: str) -> None:
    with pytest.raises(ValidationError):
        CoreSettings(admin_token=token)


def test_secrets_do_not_show_in_repr() -> None:
    settings = CoreSettings(admin_token="a-long-and-real-operator-secret")
    assert "a-long-and-real" not in repr(settings)


def test_ids() -> None:
    assert new_id("doc").startswith("doc_") and new_id("doc") != new_id("doc")
    first = chunk_point_id(TenantId("t"), "d", 1, 0)
    assert first == chunk_point_id(TenantId("t"), "d", 1, 0)
    assert first != chunk_point_id(TenantId("u"), "d", 1, 0)
    assert first != chunk_point_id(TenantId("t"), "d", 2, 0)


class _Body(BaseModel):
    n: int


async def test_problem_documents() -> None:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/missing")
    async def missing() -> None:
        raise NotFound("No such thing.", code="thing_not_found")

    @app.get("/limited")
    async def limited() -> None:
        raise RateLimited("slow down", retry_after_s=7.2, headers={"RateLimit": '"q";r=0;t=7'})

    @app.get("/down")
    async def down() -> None:
        raise UpstreamUnavailable("queue down", retry_after_s=3)

    @app.get("/crash")
    async def crash() -> None:
        raise RuntimeError("password=hunter2 leaked in a message")

    @app.post("/body")
    async def body(payload: _Body) -> int:
        return payload.n

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/missing")
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "thing_not_found"
        assert response.json()["detail"] == "No such thing."
        limited_response = await client.get("/limited")
        assert limited_response.status_code == 429
        assert limited_response.headers["Retry-After"] == "7"
        assert limited_response.headers["RateLimit"] == '"q";r=0;t=7'
        down_response = await client.get("/down")
        assert down_response.status_code == 503 and down_response.headers["Retry-After"] == "3"
        crashed = await client.get("/crash")
        assert crashed.status_code == 500
        assert crashed.json()["code"] == "internal_error"
        assert "hunter2" not in crashed.text
        invalid = await client.post("/body", json={"n": "x"})
        assert invalid.status_code == 422 and invalid.json()["code"] == "validation_failed"
        assert invalid.json()["errors"][0]["loc"] == ["body", "n"]
