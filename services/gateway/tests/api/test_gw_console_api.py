"""What the console needs from the API: ``GET /v1/whoami`` and ``GET /v1/jobs``."""

from __future__ import annotations

import httpx
from gw_harness import ADMIN_TOKEN, POISON, bearer, make_tenant
from test_gw_api import assert_problem, wait_status

ADMIN = bearer(ADMIN_TOKEN)


async def _upload(client: httpx.AsyncClient, key: str, text: bytes, external_id: str) -> str:
    response = await client.post(
        "/v1/documents",
        files={"file": (f"{external_id}.txt", text, "text/plain")},
        data={"external_id": external_id},
        headers=bearer(key),
    )
    assert response.status_code == 202, response.text
    return str(response.json()["job_id"])


async def test_whoami_names_the_operator_and_a_tenant_key_with_its_scopes(
    client: httpx.AsyncClient,
) -> None:
    operator = await client.get("/v1/whoami", headers=ADMIN)
    assert operator.status_code == 200
    assert operator.json() == {
        "kind": "operator",
        "tenant_id": None,
        "tenant_name": None,
        "key_id": None,
        "scopes": [],
    }

    tenant = await make_tenant(client, "acme")
    admin_key = await client.post(
        f"/v1/tenants/{tenant.id}/keys", json={"scopes": ["admin", "query"]}, headers=ADMIN
    )
    assert admin_key.status_code == 201
    me = await client.get("/v1/whoami", headers=bearer(admin_key.json()["key"]))
    assert me.status_code == 200
    assert me.json() == {
        "kind": "tenant",
        "tenant_id": tenant.id,
        "tenant_name": "acme",
        "key_id": admin_key.json()["id"],
        "scopes": ["query", "admin"],
    }
    assert (await client.get("/v1/whoami", headers=bearer(tenant.key))).json()["scopes"] == [
        "ingest",
        "query",
    ]


async def test_whoami_refuses_a_wrong_or_missing_credential(client: httpx.AsyncClient) -> None:
    assert_problem(
        await client.get("/v1/whoami", headers=bearer("rl_not-a-key")), 401, "invalid_api_key"
    )
    assert_problem(await client.get("/v1/whoami"), 401, "missing_api_key")


async def test_jobs_are_listed_newest_first_with_filters_and_pages(
    client: httpx.AsyncClient,
) -> None:
    tenant = await make_tenant(client, "acme")
    first = await _upload(client, tenant.key, b"first text", "first")
    await wait_status(client, tenant.key, first, "indexed")
    poisoned = await _upload(client, tenant.key, POISON, "poisoned")
    await wait_status(client, tenant.key, poisoned, "failed")
    last = await _upload(client, tenant.key, b"last text", "last")
    await wait_status(client, tenant.key, last, "indexed")

    listing = await client.get("/v1/jobs", headers=bearer(tenant.key))
    assert listing.status_code == 200
    body = listing.json()
    assert [job["id"] for job in body["jobs"]] == [last, poisoned, first]
    assert body["next_offset"] is None
    assert (
        body["jobs"][0] == (await client.get(f"/v1/jobs/{last}", headers=bearer(tenant.key))).json()
    )

    page = (await client.get("/v1/jobs?limit=2", headers=bearer(tenant.key))).json()
    assert [job["id"] for job in page["jobs"]] == [last, poisoned]
    assert page["next_offset"] == 2
    rest = (await client.get("/v1/jobs?limit=2&offset=2", headers=bearer(tenant.key))).json()
    assert ([job["id"] for job in rest["jobs"]], rest["next_offset"]) == ([first], None)

    failed = (await client.get("/v1/jobs?status=failed", headers=bearer(tenant.key))).json()
    assert [(job["id"], job["status"]) for job in failed["jobs"]] == [(poisoned, "failed")]
    document_id = body["jobs"][2]["document_id"]
    of_first = await client.get(f"/v1/jobs?document_id={document_id}", headers=bearer(tenant.key))
    assert [job["id"] for job in of_first.json()["jobs"]] == [first]


async def test_jobs_list_only_the_callers_tenant_for_any_scope(client: httpx.AsyncClient) -> None:
    acme, globex = await make_tenant(client, "acme"), await make_tenant(client, "globex")
    theirs = await _upload(client, globex.key, b"globex text", "plans")
    await wait_status(client, globex.key, theirs, "indexed")
    document_id = (await client.get(f"/v1/jobs/{theirs}", headers=bearer(globex.key))).json()[
        "document_id"
    ]

    for query in ("", f"?document_id={document_id}"):
        mine = await client.get(f"/v1/jobs{query}", headers=bearer(acme.key))
        assert mine.status_code == 200
        assert mine.json() == {"jobs": [], "next_offset": None}
    ingest_only = await client.post(
        f"/v1/tenants/{globex.id}/keys", json={"scopes": ["ingest"]}, headers=ADMIN
    )
    listed = await client.get("/v1/jobs", headers=bearer(ingest_only.json()["key"]))
    assert [job["id"] for job in listed.json()["jobs"]] == [theirs]
    # The operator token is no tenant: it has no jobs to list.
    assert_problem(await client.get("/v1/jobs", headers=ADMIN), 403, "forbidden")


async def test_bad_job_filters_are_problem_422s(client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(client, "acme")
    for query in (
        "status=done",
        "document_id=..%2Fx",
        "document_id=",
        "limit=0",
        "limit=201",
        "offset=-1",
    ):
        response = await client.get(f"/v1/jobs?{query}", headers=bearer(tenant.key))
        assert_problem(response, 422, "validation_failed")
