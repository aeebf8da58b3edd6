"""``POST /v1/search`` shows one copy of near-identical chunks, the best-ranked one."""

from __future__ import annotations

import asyncio

import httpx
from gw_harness import bearer, make_tenant


async def indexed(client: httpx.AsyncClient, key: dict[str, str], title: str, text: str) -> str:
    upload = await client.post("/v1/documents", json={"title": title, "text": text}, headers=key)
    assert upload.status_code == 202, upload.text
    job_id = upload.json()["job_id"]
    for _ in range(200):
        if (await client.get(f"/v1/jobs/{job_id}", headers=key)).json()["status"] == "indexed":
            return str(upload.json()["document_id"])
        await asyncio.sleep(0.02)
    raise AssertionError("never indexed")


async def test_near_identical_chunks_collapse_to_the_first(client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(client, "dedup")
    key = bearer(tenant.key)
    text = "Refunds are paid within fourteen days of a return, for unused goods only."
    first = await indexed(client, key, "Policy", text)
    await indexed(client, key, "Policy copy", text.upper().replace(",", " ;"))
    other = await indexed(client, key, "Shipping", "Parcels ship within two working days.")

    response = await client.post("/v1/search", json={"query": "refunds"}, headers=key)

    assert response.status_code == 200
    assert [hit["document_id"] for hit in response.json()["results"]] == [first, other]
