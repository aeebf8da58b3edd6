"""Gateways with the real generation service, answering through a fake LLM on loopback.

Served by real uvicorn servers (``serve_asgi``): ``httpx.ASGITransport`` collects a whole
response before returning it, so it cannot show streaming, time to first byte or disconnects.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from gw_harness import ADMIN_TOKEN, FakeAnswers, FakePeers, FakeSearch, Tenant, bearer, make_tenant

from ragline_cli.assembly import assemble_app
from ragline_common.contracts.search import SearchQuery, SearchResult
from ragline_common.hosting import SEARCH_API, Api
from ragline_common.settings import CoreSettings, InfrastructureSettings
from ragline_common.tenancy import TenantId
from ragline_gateway.component import GatewayComponent
from ragline_gateway.settings import GatewaySettings
from ragline_generation.component import GenerationComponent
from ragline_generation.settings import GenerationSettings, LlmSettings, ModelPrice
from ragline_testing.harness import embedded_settings, serve_asgi

INTERNAL_TOKEN = "internal-token-for-tests-0123456789"
LLM_MODEL = "fake-model"
REFUND_TEXT = "Refunds are paid within fourteen days of the request. Parking is free."


class RecordingSearch(FakeSearch):
    """The fake index, remembering the queries it was asked (to see rewritten questions)."""

    def __init__(self) -> None:
        super().__init__()
        self.queries: list[str] = []

    async def search(self, tenant_id: TenantId, query: SearchQuery) -> SearchResult:
        self.queries.append(query.query)
        return await super().search(tenant_id, query)


@dataclass
class SearchOnlyPeers(FakePeers):
    """Fake retrieval and worker; answers come from a real generation service (in this
    process, or over HTTP when no co-hosted service provides them)."""

    name: str = "fake-retrieval"
    provides: tuple[Api[Any], ...] = (SEARCH_API,)


def infrastructure(data_dir: Path) -> InfrastructureSettings:
    return embedded_settings(
        CoreSettings(data_dir=data_dir, admin_token=ADMIN_TOKEN, internal_token=INTERNAL_TOKEN)
    )


def llm_settings(llm_url: str, **overrides: Any) -> LlmSettings:
    values: dict[str, Any] = {
        "base_url": f"{llm_url}/v1",
        "model": LLM_MODEL,
        "first_token_timeout_s": 5.0,
        "read_timeout_s": 5.0,
        "retry_base_s": 0.05,
        "prices": {LLM_MODEL: ModelPrice(prompt=2.0, completion=8.0)},
    }
    values.update(overrides)
    return LlmSettings(**values)


def gateway_settings(**overrides: Any) -> GatewaySettings:
    values: dict[str, Any] = {
        "max_upload_bytes": 64 * 1024,
        "query_per_minute": 10_000,
        "ingest_per_minute": 10_000,
    }
    values.update(overrides)
    return GatewaySettings(**values)


def _lifespan(app: Any) -> LifespanManager:
    # Generous: a loaded CI machine can take seconds to migrate a catalog and load a tokenizer.
    return LifespanManager(app, startup_timeout=60, shutdown_timeout=30)


@dataclass
class Deployment:
    url: str
    search: RecordingSearch
    tenants: list[Tenant] = field(default_factory=list)


@asynccontextmanager
async def deployment(
    tmp_path: Path, llm_url: str, *, microservices: bool, **llm_overrides: Any
) -> AsyncIterator[Deployment]:
    """The gateway and generation in one process (monolith) or two (microservices)."""
    search = RecordingSearch()
    peers = SearchOnlyPeers(search, FakeAnswers())
    generation = GenerationComponent(GenerationSettings(), llm_settings(llm_url, **llm_overrides))
    async with AsyncExitStack() as stack:
        if microservices:
            generation_app = assemble_app([generation], infrastructure(tmp_path / "generation"))
            started = await stack.enter_async_context(_lifespan(generation_app))
            generation_url = await stack.enter_async_context(serve_asgi(started.app))
            components: list[Any] = [
                peers,
                GatewayComponent(gateway_settings(generation_url=generation_url)),
            ]
        else:
            components = [peers, generation, GatewayComponent(gateway_settings())]
        gateway_app = assemble_app(components, infrastructure(tmp_path / "gateway"))
        started_gateway = await stack.enter_async_context(_lifespan(gateway_app))
        url = await stack.enter_async_context(serve_asgi(started_gateway.app))
        yield Deployment(url=url, search=search)


async def tenant_with_document(client: httpx.AsyncClient, name: str, text: str) -> Tenant:
    tenant = await make_tenant(client, name)
    upload = await client.post(
        "/v1/documents", json={"text": text, "title": "Handbook"}, headers=bearer(tenant.key)
    )
    assert upload.status_code == 202, upload.text
    job_id = upload.json()["job_id"]
    for _ in range(250):
        job = (await client.get(f"/v1/jobs/{job_id}", headers=bearer(tenant.key))).json()
        if job["status"] == "indexed":
            return tenant
        await asyncio.sleep(0.02)
    raise AssertionError("the document was never indexed")


def parse_sse(lines: list[str]) -> list[tuple[str, Any]]:
    """``(event, data)`` pairs of a ``text/event-stream`` body."""
    events: list[tuple[str, Any]] = []
    name, data = "message", ""
    for line in lines:
        if line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: "):
            data = line.removeprefix("data: ")
        elif line == "" and data:
            events.append((name, json.loads(data)))
            name, data = "message", ""
    return events
