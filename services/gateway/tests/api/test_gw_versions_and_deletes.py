"""Readers see exactly one version of a document, and deleted documents vanish at once."""

from __future__ import annotations

import asyncio

import httpx
from gw_harness import FakePeers, bearer, make_tenant
from test_gw_api import assert_problem, wait_status

from ragline_common.tenancy import TenantId


async def test_search_shows_only_the_current_version_while_a_new_one_is_written(
    client: httpx.AsyncClient, peers: FakePeers
) -> None:
    tenant = await make_tenant(client, "versions")
    body = {"text": "Version one text.", "external_id": "manual"}
    first = (await client.post("/v1/documents", json=body, headers=bearer(tenant.key))).json()
    await wait_status(client, tenant.key, first["job_id"], "indexed")

    # The worker has written version 2's chunks but not reported yet: readers keep version 1.
    stale = peers.search.indexed[TenantId(tenant.id)][0]
    peers.search.indexed[TenantId(tenant.id)].append(
        stale.model_copy(update={"version": 2, "chunk_id": "v2", "text": "Version two text."})
    )
    hits = (
        await client.post("/v1/search", json={"query": "text"}, headers=bearer(tenant.key))
    ).json()
    assert [(hit["version"], hit["text"]) for hit in hits["results"]] == [(1, "Version one text.")]
    peers.search.indexed[TenantId(tenant.id)].pop()

    # Once version 2 is indexed, readers switch to it and version 1 is pruned.
    second = await client.post(
        "/v1/documents", json={**body, "text": "Version two text."}, headers=bearer(tenant.key)
    )
    assert second.status_code == 202
    await wait_status(client, tenant.key, second.json()["job_id"], "indexed")
    hits = (
        await client.post("/v1/search", json={"query": "text"}, headers=bearer(tenant.key))
    ).json()
    assert [(hit["version"], hit["text"]) for hit in hits["results"]] == [(2, "Version two text.")]
    # The prune is asked for after the status is applied (ADR 0008): it lands a moment later.
    for _ in range(200):
        if {hit.version for hit in peers.search.indexed[TenantId(tenant.id)]} == {2}:
            break
        await asyncio.sleep(0.01)
    assert {hit.version for hit in peers.search.indexed[TenantId(tenant.id)]} == {2}


async def test_delete_removes_the_document_for_readers_and_its_chunks(
    client: httpx.AsyncClient, peers: FakePeers
) -> None:
    owner, stranger = await make_tenant(client, "owner"), await make_tenant(client, "stranger")
    upload = await client.post(
        "/v1/documents", json={"text": "Delete me."}, headers=bearer(owner.key)
    )
    document_id = upload.json()["document_id"]
    await wait_status(client, owner.key, upload.json()["job_id"], "indexed")

    foreign = await client.delete(f"/v1/documents/{document_id}", headers=bearer(stranger.key))
    assert_problem(foreign, 404, "document_not_found")
    query_only = await client.delete(
        f"/v1/documents/{document_id}", headers=bearer(owner.query_key)
    )
    assert_problem(query_only, 403, "missing_scope")

    deleted = await client.delete(f"/v1/documents/{document_id}", headers=bearer(owner.key))
    assert deleted.status_code == 204
    gone = await client.get(f"/v1/documents/{document_id}", headers=bearer(owner.key))
    assert_problem(gone, 404, "document_not_found")
    again = await client.delete(f"/v1/documents/{document_id}", headers=bearer(owner.key))
    assert_problem(again, 404, "document_not_found")
    hits = (await client.post("/v1/search", json={"query": "x"}, headers=bearer(owner.key))).json()
    assert hits["results"] == []
    for _ in range(100):
        if not peers.search.indexed[TenantId(owner.id)]:
            break
        await asyncio.sleep(0.01)
    assert peers.search.indexed[TenantId(owner.id)] == []


async def test_chunks_of_the_current_version_are_listed_for_the_owner_only(
    client: httpx.AsyncClient,
) -> None:
    owner, stranger = await make_tenant(client, "owner"), await make_tenant(client, "stranger")
    upload = await client.post(
        "/v1/documents", json={"text": "Chunk me."}, headers=bearer(owner.key)
    )
    document_id = upload.json()["document_id"]
    await wait_status(client, owner.key, upload.json()["job_id"], "indexed")
    listing = await client.get(
        f"/v1/documents/{document_id}/chunks", headers=bearer(owner.query_key)
    )
    assert listing.status_code == 200, listing.text
    body = listing.json()
    assert body["version"] == 1
    assert body["next_offset"] is None
    assert [chunk["text"] for chunk in body["chunks"]] == ["Chunk me."]
    foreign = await client.get(f"/v1/documents/{document_id}/chunks", headers=bearer(stranger.key))
    assert_problem(foreign, 404, "document_not_found")
    too_big = await client.get(
        f"/v1/documents/{document_id}/chunks", params={"limit": 1000}, headers=bearer(owner.key)
    )
    assert_problem(too_big, 422, "validation_failed")
