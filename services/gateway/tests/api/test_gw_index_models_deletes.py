"""Deletions reach every index not dropped (issue 15), so switching back shows no deleted
document and erasing a tenant erases it from every model's index."""

from __future__ import annotations

import asyncio

import httpx
from gw_harness import make_tenant
from test_gw_index_models import OPERATOR, ModelIndexes, _until, _upload, client, indexes

__all__ = ["client", "indexes"]


async def _deletes(indexes: ModelIndexes, count: int) -> list[tuple[str, tuple[str, ...]]]:
    for _ in range(200):
        if len(indexes.deletes) >= count:
            break
        await asyncio.sleep(0.01)
    return indexes.deletes


async def test_deletes_name_every_index_kept(
    client: httpx.AsyncClient, indexes: ModelIndexes
) -> None:
    acme = await make_tenant(client, "acme")
    await _upload(client, acme, "alpha")
    indexes.hold.set()
    await client.post("/v1/admin/index-models", json={"model": "onnx-int8"}, headers=OPERATOR)
    await _until(client, "onnx-int8", "active")
    [document] = (
        await client.get("/v1/documents", headers={"Authorization": f"Bearer {acme.key}"})
    ).json()["documents"]

    deleted = await client.delete(
        f"/v1/documents/{document['id']}", headers={"Authorization": f"Bearer {acme.key}"}
    )
    assert deleted.status_code == 204, deleted.text
    erased = await client.delete(f"/v1/tenants/{acme.id}", headers=OPERATOR)
    assert erased.status_code == 204, erased.text

    assert await _deletes(indexes, 2) == [
        ("document.delete.v1", ("onnx-int8", "hash")),
        ("tenant.delete.v1", ("onnx-int8", "hash")),
    ]


async def test_a_reindex_write_after_the_delete_is_pruned_from_its_index(
    client: httpx.AsyncClient, indexes: ModelIndexes
) -> None:
    acme = await make_tenant(client, "acme")
    await _upload(client, acme, "alpha")
    started = await client.post(
        "/v1/admin/index-models", json={"model": "onnx-int8"}, headers=OPERATOR
    )
    assert started.status_code == 202, started.text
    for _ in range(200):  # the reindex task is with the worker, held there
        if len(indexes.written) >= 2:
            break
        await asyncio.sleep(0.01)
    [document] = (
        await client.get("/v1/documents", headers={"Authorization": f"Bearer {acme.key}"})
    ).json()["documents"]
    deleted = await client.delete(
        f"/v1/documents/{document['id']}", headers={"Authorization": f"Bearer {acme.key}"}
    )
    assert deleted.status_code == 204, deleted.text

    indexes.hold.set()  # the task writes the deleted document into the new index now
    assert await _deletes(indexes, 2) == [
        ("document.delete.v1", ("hash", "onnx-int8")),
        ("document.delete.v1", ("onnx-int8",)),  # what the late task wrote goes again
    ]
