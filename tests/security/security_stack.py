"""The whole monolith in this process: gateway, ingestion, retrieval and generation with the
embedded Qdrant (Edge), the hash embedder, SQLite and the in-process broker, as ``make run``
runs it. The front-door suites (isolation, erasure, schema fuzzing) test the real pieces."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from ragline_cli.runner import build_app
from ragline_common.hosting import Host
from ragline_common.settings import CoreSettings
from ragline_testing.harness import embedded_settings

ADMIN_TOKEN = "operator-token-for-security-tests-0123"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
TARGETS = frozenset({"gateway", "ingestion", "retrieval", "generation"})
OPS_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
"""Liveness, readiness and metrics: unauthenticated by design, outside the tenant API."""


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@dataclass
class Stack:
    client: httpx.AsyncClient
    app: FastAPI
    data_dir: Path

    @property
    def host(self) -> Host:
        host: Host = self.app.state.host
        return host


@dataclass
class TenantFixture:
    """A tenant with one key per scope, and what it stored."""

    id: str
    keys: dict[str, str]
    key_ids: dict[str, str]
    documents: list[str] = field(default_factory=list)
    jobs: list[str] = field(default_factory=list)


@asynccontextmanager
async def open_stack(data_dir: Path, admin_token: str | None = ADMIN_TOKEN) -> AsyncIterator[Stack]:
    """The monolith on ``data_dir``; without ``admin_token`` it makes its own, as on a first
    ``make run``."""
    settings = embedded_settings(CoreSettings(data_dir=data_dir, admin_token=admin_token))
    app = build_app(TARGETS, settings)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://ragline", timeout=30
        ) as client:
            yield Stack(client, app, data_dir)


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    async with open_stack(tmp_path) as opened:
        yield opened


async def create_tenant(client: httpx.AsyncClient, name: str) -> TenantFixture:
    created = await client.post("/v1/tenants", json={"name": name}, headers=ADMIN)
    assert created.status_code == 201, created.text
    tenant_id = created.json()["id"]
    keys: dict[str, str] = {}
    key_ids: dict[str, str] = {}
    for scope in ("ingest", "query", "admin"):
        response = await client.post(
            f"/v1/tenants/{tenant_id}/keys", json={"scopes": [scope], "name": scope}, headers=ADMIN
        )
        assert response.status_code == 201, response.text
        keys[scope] = response.json()["key"]
        key_ids[scope] = response.json()["id"]
    return TenantFixture(tenant_id, keys, key_ids)


async def upload_and_index(
    client: httpx.AsyncClient, tenant: TenantFixture, text: str, **extra: Any
) -> dict[str, Any]:
    response = await client.post(
        "/v1/documents", json={"text": text, **extra}, headers=bearer(tenant.keys["ingest"])
    )
    assert response.status_code == 202, response.text
    accepted: dict[str, Any] = response.json()
    tenant.documents.append(accepted["document_id"])
    tenant.jobs.append(accepted["job_id"])
    for _ in range(400):
        job = await client.get(
            f"/v1/jobs/{accepted['job_id']}", headers=bearer(tenant.keys["ingest"])
        )
        if job.json()["status"] in ("indexed", "failed"):
            assert job.json()["status"] == "indexed", job.text
            return accepted
        await asyncio.sleep(0.025)
    raise AssertionError(f"job {accepted['job_id']} was not indexed in time")


def openapi_operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path template, operation) of every tenant-API operation the schema lists."""
    operations = []
    for path, item in schema["paths"].items():
        if path in OPS_PATHS:
            continue
        for method, operation in item.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                operations.append((method.upper(), path, operation))
    return operations
