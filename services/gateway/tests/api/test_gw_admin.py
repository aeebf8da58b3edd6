"""Dead-letter administration: tenant admins see their own, the operator sees all."""

from __future__ import annotations

import asyncio

import httpx
from gw_harness import ADMIN_TOKEN, POISON, bearer, make_tenant
from test_gw_api import assert_problem, wait_status


async def _admin_key(client: httpx.AsyncClient, tenant_id: str) -> str:
    response = await client.post(
        f"/v1/tenants/{tenant_id}/keys", json={"scopes": ["admin"]}, headers=bearer(ADMIN_TOKEN)
    )
    assert response.status_code == 201
    key: str = response.json()["key"]
    return key


async def _dead_letters(
    client: httpx.AsyncClient, key: str, **params: str
) -> list[dict[str, object]]:
    for _ in range(200):
        response = await client.get("/v1/admin/dead-letters", headers=bearer(key), params=params)
        assert response.status_code == 200, response.text
        letters: list[dict[str, object]] = response.json()["dead_letters"]
        if letters:
            return letters
        await asyncio.sleep(0.02)
    return []


async def test_dead_letters_are_listed_replayed_and_purged_per_tenant(
    client: httpx.AsyncClient,
) -> None:
    alpha, beta = await make_tenant(client, "alpha"), await make_tenant(client, "beta")
    alpha_admin, beta_admin = await _admin_key(client, alpha.id), await _admin_key(client, beta.id)
    poisoned = await client.post(
        "/v1/documents",
        files={"file": ("bad.txt", POISON, "text/plain")},
        headers=bearer(alpha.key),
    )
    assert poisoned.status_code == 202

    letters = await _dead_letters(client, alpha_admin)
    assert len(letters) == 1
    # The dead letter failed the job, so it no longer holds a slot of the tenant's window.
    job_id = poisoned.json()["job_id"]
    job = await wait_status(client, alpha.key, job_id, "failed")
    assert str(job["reason"]).startswith("the document is poisoned (dead-lettered")
    letter = letters[0]
    assert letter["tenant_id"] == alpha.id
    assert letter["reason"] == "the document is poisoned"
    assert letter["document_id"] == poisoned.json()["document_id"]
    assert letter["job_id"] == poisoned.json()["job_id"]
    assert "POISON" not in str(letter)  # bodies are never shown

    # Another tenant's admin sees nothing of it and cannot touch it.
    beta_view = await client.get("/v1/admin/dead-letters", headers=bearer(beta_admin))
    assert beta_view.json()["dead_letters"] == []
    spying = await client.get(
        "/v1/admin/dead-letters", params={"tenant_id": alpha.id}, headers=bearer(beta_admin)
    )
    assert_problem(spying, 404, "tenant_not_found")
    stolen = await client.post(
        f"/v1/admin/dead-letters/{letter['id']}/replay", headers=bearer(beta_admin)
    )
    assert_problem(stolen, 404, "dead_letter_not_found")
    not_admin = await client.get("/v1/admin/dead-letters", headers=bearer(alpha.key))
    assert_problem(not_admin, 403, "missing_scope")

    # The operator sees every tenant's; a replay fails again and parks it again.
    everything = await client.get("/v1/admin/dead-letters", headers=bearer(ADMIN_TOKEN))
    assert [item["id"] for item in everything.json()["dead_letters"]] == [letter["id"]]
    replay = await client.post(
        f"/v1/admin/dead-letters/{letter['id']}/replay", headers=bearer(alpha_admin)
    )
    assert replay.status_code == 202
    # The replay reopened the job; the worker refused it again, and it failed again.
    again = await wait_status(client, alpha.key, job_id, "failed")
    assert str(again["updated_at"]) > str(job["updated_at"])
    assert len(await _dead_letters(client, alpha_admin)) == 1
    missing = await client.post("/v1/admin/dead-letters/nope/replay", headers=bearer(ADMIN_TOKEN))
    assert_problem(missing, 404, "dead_letter_not_found")

    purged = await client.delete("/v1/admin/dead-letters", headers=bearer(beta_admin))
    assert purged.json() == {"purged": 0}
    purged = await client.delete("/v1/admin/dead-letters", headers=bearer(alpha_admin))
    assert purged.json() == {"purged": 1}
    assert (await client.get("/v1/admin/dead-letters", headers=bearer(ADMIN_TOKEN))).json() == {
        "dead_letters": []
    }
