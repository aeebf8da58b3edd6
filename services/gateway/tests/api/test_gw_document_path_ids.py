"""Document and job ids in paths are what the gateway makes (letters, digits, ``_``, ``-``):
anything else, a NUL above all (PostgreSQL refuses it in text), is a 422 at the door and never
reaches a catalog query."""

from __future__ import annotations

import httpx
import pytest
from gw_harness import bearer, make_tenant


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/documents/doc%00x"),
        ("DELETE", "/v1/documents/doc%00x"),
        ("GET", "/v1/documents/doc%00x/chunks"),
        ("GET", "/v1/jobs/job%00x"),
        ("GET", "/v1/jobs/job%20x"),
    ],
)
async def test_an_id_the_gateway_never_made_is_a_422(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    tenant = await make_tenant(client, "acme")
    response = await client.request(method, path, headers=bearer(tenant.key))

    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_a_well_formed_unknown_id_is_still_a_404(client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(client, "acme")
    response = await client.get("/v1/documents/doc_0123abcd", headers=bearer(tenant.key))

    assert response.status_code == 404, response.text
    assert response.json()["code"] == "document_not_found"
