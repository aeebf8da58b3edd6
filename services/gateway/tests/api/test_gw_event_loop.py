"""The gateway's routes and dependencies run on the event loop, never in FastAPI's thread pool.

FastAPI runs a plain ``def`` endpoint or dependency in a worker thread: a hand-off there and
back on every request, which cost a search about half a millisecond each on two cores (two such
dependencies sat on every route). Nothing in the gateway's request path blocks, so everything is
``async def``; this test drives the main routes and fails if one of them hands work to the pool.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import fastapi.dependencies.utils
import fastapi.routing
import httpx
import pytest
from gw_harness import ADMIN_TOKEN, bearer, make_tenant


async def test_requests_make_no_thread_pool_hand_offs(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    handed_off: list[str] = []
    original = fastapi.routing.run_in_threadpool

    async def recording(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        handed_off.append(getattr(func, "__qualname__", repr(func)))
        return await original(func, *args, **kwargs)

    monkeypatch.setattr(fastapi.routing, "run_in_threadpool", recording)
    monkeypatch.setattr(fastapi.dependencies.utils, "run_in_threadpool", recording)
    tenant = await make_tenant(client, "loop")
    admin = bearer(ADMIN_TOKEN)
    upload = await client.post(
        "/v1/documents", json={"text": "Event loops.", "title": "Loops"}, headers=bearer(tenant.key)
    )
    document_id = upload.json()["document_id"]

    responses = [
        upload,
        await client.get(f"/v1/tenants/{tenant.id}", headers=admin),
        await client.get("/v1/documents", headers=bearer(tenant.key)),
        await client.get(f"/v1/documents/{document_id}", headers=bearer(tenant.key)),
        await client.get(f"/v1/jobs/{upload.json()['job_id']}", headers=bearer(tenant.key)),
        await client.post("/v1/search", json={"query": "loops"}, headers=bearer(tenant.key)),
        await client.post("/v1/query", json={"query": "loops"}, headers=bearer(tenant.key)),
        await client.get("/v1/usage", headers=bearer(tenant.key)),
    ]

    assert [response.status_code for response in responses] == [202] + [200] * 7
    assert handed_off == []
