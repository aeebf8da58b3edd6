"""Driving a running Ragline through its public HTTP API at volume, as the benchmarks do.

A benchmark uploads thousands of documents as fast as the gateway takes them; the gateway
pushes back with ``429``/``503`` and ``Retry-After`` (rate limits, backlog), which a benchmark
must honour rather than count as failures. These helpers do that once for every benchmark.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

MAX_ATTEMPTS = 100


async def send(client: httpx.AsyncClient, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """One request, retried while the gateway says "later" (429/503 with Retry-After)."""
    for _ in range(MAX_ATTEMPTS):
        response = await client.request(method, path, **kwargs)
        if response.status_code not in (429, 503):
            response.raise_for_status()
            return response
        await asyncio.sleep(float(response.headers.get("Retry-After", "1")))
    raise RuntimeError(f"{method} {path} kept answering {response.status_code}")


async def tenant_with_key(
    client: httpx.AsyncClient, admin_token: str, name: str
) -> tuple[str, str]:
    """A new tenant and an ``ingest``+``query`` key for it: ``(tenant id, key)``."""
    admin = {"Authorization": f"Bearer {admin_token}"}
    tenant = await send(client, "POST", "/v1/tenants", headers=admin, json={"name": name})
    tenant_id: str = tenant.json()["id"]
    key = await send(
        client,
        "POST",
        f"/v1/tenants/{tenant_id}/keys",
        headers=admin,
        json={"name": name, "scopes": ["ingest", "query"]},
    )
    value: str = key.json()["key"]
    return tenant_id, value


async def settled_job(client: httpx.AsyncClient, job_id: str, poll_s: float) -> dict[str, Any]:
    """The job once it is ``indexed`` or ``failed`` (polled every ``poll_s``)."""
    while True:
        job: dict[str, Any] = (await send(client, "GET", f"/v1/jobs/{job_id}")).json()
        if job["status"] in ("indexed", "failed"):
            return job
        await asyncio.sleep(poll_s)
