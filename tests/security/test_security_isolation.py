"""Tenant isolation: tenant A tries every endpoint with tenant B's ids and forged filters.

The operations come from the live OpenAPI schema, so a route added later is covered without
editing this test. Every response to A must be free of B's data (ids, text), every use of a B
id must be refused as 403/404 (or fail validation), and B's data must be intact afterwards.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import httpx
from security_stack import (
    ADMIN,
    Stack,
    TenantFixture,
    bearer,
    create_tenant,
    openapi_operations,
    upload_and_index,
)

SECRET = "zebrasecret"
_PARAM = re.compile(r"{([^}]+)}")


def _forged_bodies(victim: TenantFixture) -> list[dict[str, Any]]:
    b_tenant, b_doc = victim.id, victim.documents[0]
    question = f"what is the {SECRET}?"
    return [
        {"query": question, "filters": {"tenant_id": b_tenant}, "top_k": 50},
        {"query": question, "filters": {"tenant_id": [b_tenant]}},
        {"query": question, "filters": {"document_id": b_doc}},
        {"query": question, "tenant_id": b_tenant},
        {"query": question, "stream": True, "filters": {"tenant_id": b_tenant}},
        {"text": f"forged {SECRET}", "metadata": {"tenant_id": b_tenant}},
        {"model": "ragline", "messages": [{"role": "user", "content": question}]},
        {
            "model": "ragline",
            "messages": [{"role": "user", "content": question}],
            "tenant_id": b_tenant,
        },
        {"name": "stolen", "scopes": ["admin", "ingest", "query"]},
        {"rate_limits": {"query_per_minute": 1}, "quotas": {"documents": 0}},
        {"grace_period_s": 0},
        {},
    ]


def _path_values(victim: TenantFixture, dead_letter_id: str) -> dict[str, str]:
    return {
        "tenant_id": victim.id,
        "document_id": victim.documents[0],
        "job_id": victim.jobs[0],
        "key_id": victim.key_ids["query"],
        "dead_letter_id": dead_letter_id,
    }


def _markers(victim: TenantFixture, dead_letter_id: str) -> list[str]:
    return [
        SECRET_OF_B,
        *victim.documents,
        *victim.jobs,
        *victim.key_ids.values(),
        *victim.keys.values(),
        dead_letter_id,
    ]


SECRET_OF_B = f"{SECRET} of tenant B"


async def _dead_letter_of(client: httpx.AsyncClient, tenant: TenantFixture) -> str:
    """Make B a dead letter: a file that claims to be a PDF but cannot be parsed."""
    files = {"file": ("broken.pdf", b"%PDF-1.7\n" + b"\x00garbage" * 50, "application/pdf")}
    response = await client.post(
        "/v1/documents", files=files, headers=bearer(tenant.keys["ingest"])
    )
    assert response.status_code == 202, response.text
    for _ in range(400):
        letters = await client.get("/v1/admin/dead-letters", headers=bearer(tenant.keys["admin"]))
        found = letters.json()["dead_letters"]
        if found:
            return str(found[0]["id"])
        await asyncio.sleep(0.025)
    raise AssertionError("no dead letter appeared")


def _query_params(operation: dict[str, Any], victim: TenantFixture) -> dict[str, str]:
    params = {}
    for parameter in operation.get("parameters", []):
        if parameter.get("in") == "query" and parameter["name"] == "tenant_id":
            params["tenant_id"] = victim.id
    return params


async def test_tenant_a_never_reaches_tenant_b(stack: Stack) -> None:
    client = stack.client
    attacker = await create_tenant(client, "attacker")
    victim = await create_tenant(client, "victim")
    roomy = {"rate_limits": {"query_per_minute": 100_000, "ingest_per_minute": 100_000}}
    for tenant in (attacker, victim):
        assert (
            await client.patch(f"/v1/tenants/{tenant.id}", json=roomy, headers=ADMIN)
        ).status_code == 200
    await upload_and_index(
        client, victim, f"The {SECRET_OF_B} is kept in the vault.", metadata={"owner": "b"}
    )
    await upload_and_index(client, attacker, f"Attacker notes about a {SECRET}.")
    dead_letter_id = await _dead_letter_of(client, victim)
    markers = _markers(victim, dead_letter_id)
    path_values = _path_values(victim, dead_letter_id)
    schema = (await client.get("/openapi.json")).json()
    operations = openapi_operations(schema)
    assert len(operations) >= 10, [f"{m} {p}" for m, p, _ in operations]

    checked = 0
    for method, template, operation in operations:
        names = _PARAM.findall(template)
        path = template
        for name in names:
            path = path.replace(f"{{{name}}}", path_values.get(name, victim.documents[0]))
        content = operation.get("requestBody", {}).get("content", {})
        bodies: list[dict[str, Any] | None] = (
            list(_forged_bodies(victim)) if "application/json" in content else [None]
        )
        for scope, key in attacker.keys.items():
            for body in bodies:
                response = await client.request(
                    method,
                    path,
                    params=_query_params(operation, victim),
                    json=body,
                    headers=bearer(key),
                )
                checked += 1
                where = f"{method} {path} as {scope} with {json.dumps(body)[:80]}"
                assert response.status_code < 500, f"{where}: {response.text[:300]}"
                text = response.text
                leaked = [marker for marker in markers if marker in text]
                assert not leaked, f"{where} leaked {leaked}: {text[:300]}"
                if names:
                    assert response.status_code in {403, 404, 405, 415, 422}, (
                        f"{where}: {response.status_code} {text[:300]}"
                    )
    assert checked > 100

    # B is intact: its document, keys, search results and dead letter are all still there.
    document = await client.get(
        f"/v1/documents/{victim.documents[0]}", headers=bearer(victim.keys["query"])
    )
    assert document.status_code == 200
    listed = await client.get(f"/v1/tenants/{victim.id}/keys", headers=ADMIN)
    assert all(k["revoked_at"] is None for k in listed.json())
    assert all(k["replaced_by"] is None for k in listed.json())
    hits = await client.post(
        "/v1/search", json={"query": SECRET, "top_k": 50}, headers=bearer(victim.keys["query"])
    )
    assert hits.status_code == 200
    found = {hit["document_id"] for hit in hits.json()["results"]}
    # B finds its own document, and nothing A wrote (even with B's tenant id in metadata).
    assert victim.documents[0] in found
    assert found <= set(victim.documents), found
    detail = await client.get(f"/v1/tenants/{victim.id}", headers=ADMIN)
    assert detail.json()["rate_limits"]["query_per_minute"] == 100_000
    letters = await client.get("/v1/admin/dead-letters", headers=bearer(victim.keys["admin"]))
    assert [d["id"] for d in letters.json()["dead_letters"]] == [dead_letter_id]
