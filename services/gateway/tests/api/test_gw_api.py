"""The gateway's public API: flows, tenant scoping and every kind of bad input."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from gw_harness import ADMIN_TOKEN, bearer, make_tenant

from ragline_common.http.ops import metrics_app

PROBLEM = "application/problem+json"


def assert_problem(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["code"] == code, body
    assert body["status"] == status
    assert {"type", "title", "detail", "trace_id"} <= body.keys()


async def wait_status(
    client: httpx.AsyncClient, key: str, job_id: str, status: str
) -> dict[str, object]:
    for _ in range(200):
        job = (await client.get(f"/v1/jobs/{job_id}", headers=bearer(key))).json()
        if job["status"] == status:
            return dict(job)
        await asyncio.sleep(0.02)
    raise AssertionError(f"job never reached {status}: {job}")


async def test_upload_is_indexed_and_invisible_to_other_tenants(client: httpx.AsyncClient) -> None:
    alpha, beta = await make_tenant(client, "alpha"), await make_tenant(client, "beta")
    upload = await client.post(
        "/v1/documents",
        json={"text": "Alpha secret plans.", "title": "Plans", "metadata": {"k": 1}},
        headers=bearer(alpha.key),
    )
    assert upload.status_code == 202, upload.text
    accepted = upload.json()
    assert accepted["status"] == "queued" and accepted["duplicate"] is False
    job = await wait_status(client, alpha.key, accepted["job_id"], "indexed")
    assert job["chunk_count"] == 1

    document = await client.get(
        f"/v1/documents/{accepted['document_id']}", headers=bearer(alpha.key)
    )
    assert document.status_code == 200
    assert document.json()["status"] == "indexed"
    assert document.json()["metadata"] == {"k": 1}

    for path in (f"/v1/documents/{accepted['document_id']}", f"/v1/jobs/{accepted['job_id']}"):
        foreign = await client.get(path, headers=bearer(beta.key))
        assert foreign.status_code == 404
    listing = await client.get("/v1/documents", headers=bearer(beta.key))
    assert listing.json()["documents"] == []
    beta_search = await client.post("/v1/search", json={"query": "plans"}, headers=bearer(beta.key))
    assert beta_search.json()["results"] == []
    alpha_query = await client.post(
        "/v1/query", json={"query": "plans"}, headers=bearer(alpha.query_key)
    )
    assert alpha_query.status_code == 200
    assert alpha_query.json()["citations"][0]["document_id"] == accepted["document_id"]


async def test_multipart_markdown_upload_and_duplicate_external_id(
    client: httpx.AsyncClient,
) -> None:
    tenant = await make_tenant(client, "files")
    files = {"file": ("../../etc/notes.md", b"# Title\n\nSome text.", "text/markdown")}
    data = {"external_id": "notes", "metadata": '{"lang": "en"}'}
    first = await client.post("/v1/documents", files=files, data=data, headers=bearer(tenant.key))
    assert first.status_code == 202, first.text
    document = (
        await client.get(f"/v1/documents/{first.json()['document_id']}", headers=bearer(tenant.key))
    ).json()
    assert document["source_name"] == "notes.md"
    assert document["content_type"] == "text/markdown"
    assert document["metadata"] == {"lang": "en"}
    again = await client.post("/v1/documents", files=files, data=data, headers=bearer(tenant.key))
    assert again.status_code == 200
    assert again.json()["duplicate"] is True
    assert again.json()["document_id"] == first.json()["document_id"]
    changed = {"file": ("notes.md", b"# Title\n\nOther text.", "text/markdown")}
    newer = await client.post("/v1/documents", files=changed, data=data, headers=bearer(tenant.key))
    assert newer.status_code == 202
    assert newer.json()["version"] == 2


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "missing_api_key"),
        ({"Authorization": "Basic abc"}, "missing_api_key"),
        ({"Authorization": "Bearer not-a-key"}, "invalid_api_key"),
        ({"Authorization": "Bearer rl_" + "A" * 38}, "invalid_api_key"),
    ],
)
async def test_missing_or_invalid_keys_get_401(
    client: httpx.AsyncClient, headers: dict[str, str], code: str
) -> None:
    for method, path in (("POST", "/v1/search"), ("GET", "/v1/documents"), ("GET", "/v1/tenants")):
        response = await client.request(method, path, headers=headers, json={"query": "x"})
        assert_problem(response, 401, code)


async def test_revoked_key_is_refused(client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(client, "revoking")
    keys = (await client.get(f"/v1/tenants/{tenant.id}/keys", headers=bearer(ADMIN_TOKEN))).json()
    assert all("key" not in key for key in keys)
    query_key_id = next(k["id"] for k in keys if k["scopes"] == ["query"])
    revoked = await client.delete(
        f"/v1/tenants/{tenant.id}/keys/{query_key_id}", headers=bearer(ADMIN_TOKEN)
    )
    assert revoked.status_code == 204
    assert_problem(
        await client.post("/v1/search", json={"query": "x"}, headers=bearer(tenant.query_key)),
        401,
        "invalid_api_key",
    )


async def test_wrong_scope_gets_403(client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(client, "scopes")
    upload = await client.post(
        "/v1/documents", json={"text": "x"}, headers=bearer(tenant.query_key)
    )
    assert_problem(upload, 403, "missing_scope")
    as_tenant = await client.post("/v1/tenants", json={"name": "evil"}, headers=bearer(tenant.key))
    assert_problem(as_tenant, 403, "operator_only")
    other = await make_tenant(client, "other")
    foreign_keys = await client.get(f"/v1/tenants/{other.id}/keys", headers=bearer(tenant.key))
    assert_problem(foreign_keys, 404, "tenant_not_found")
    own_keys = await client.get(f"/v1/tenants/{tenant.id}/keys", headers=bearer(tenant.key))
    assert_problem(own_keys, 403, "missing_scope")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"text": ""}, "validation_failed"),
        ({"text": "   \n\t"}, "validation_failed"),
        ({"text": "ok", "tenant_id": "ten_other"}, "validation_failed"),
        ({"text": "ok", "colour": "red"}, "validation_failed"),
        ({"text": "ok", "content_type": "application/pdf"}, "validation_failed"),
        ({"title": "no text"}, "validation_failed"),
        ({"text": 12}, "validation_failed"),
    ],
)
async def test_bad_json_uploads_get_422(
    client: httpx.AsyncClient, body: dict[str, object], code: str
) -> None:
    tenant = await make_tenant(client, "bad-json")
    assert_problem(
        await client.post("/v1/documents", json=body, headers=bearer(tenant.key)), 422, code
    )


async def test_malformed_json_and_unsupported_types(client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(client, "types")
    headers = {**bearer(tenant.key), "content-type": "application/json"}
    assert_problem(
        await client.post("/v1/documents", content=b"{not json", headers=headers),
        422,
        "validation_failed",
    )
    csv = {**bearer(tenant.key), "content-type": "text/csv"}
    assert_problem(
        await client.post("/v1/documents", content=b"a,b", headers=csv),
        415,
        "unsupported_media_type",
    )
    exe = {"file": ("tool.exe", b"MZ\x90\x00", "application/octet-stream")}
    assert_problem(
        await client.post("/v1/documents", files=exe, headers=bearer(tenant.key)),
        415,
        "unsupported_document_type",
    )
    empty = {"file": ("empty.txt", b"  \n", "text/plain")}
    assert_problem(
        await client.post("/v1/documents", files=empty, headers=bearer(tenant.key)),
        422,
        "empty_document",
    )
    extra = {"file": ("a.txt", b"hello", "text/plain")}
    response = await client.post(
        "/v1/documents", files=extra, data={"tenant_id": "x"}, headers=bearer(tenant.key)
    )
    assert_problem(response, 422, "validation_failed")
    bad_meta = await client.post(
        "/v1/documents", files=extra, data={"metadata": "[1]"}, headers=bearer(tenant.key)
    )
    assert_problem(bad_meta, 422, "validation_failed")


async def test_oversize_bodies_get_413_before_parsing(client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(client, "big")
    big = "x" * (64 * 1024 + 1)
    assert_problem(
        await client.post("/v1/documents", json={"text": big}, headers=bearer(tenant.key)),
        413,
        "payload_too_large",
    )

    async def chunked() -> AsyncIterator[bytes]:
        for _ in range(100):
            yield b"y" * 1024

    response = await client.post(
        "/v1/documents",
        content=chunked(),
        headers={**bearer(tenant.key), "content-type": "application/json"},
    )
    assert_problem(response, 413, "payload_too_large")


@pytest.mark.parametrize(
    "body",
    [
        {"query": ""},
        {"query": "x" * 2001},
        {"query": "x", "top_k": 0},
        {"query": "x", "top_k": 1000},
        {"query": "x", "mode": "telepathy"},
        {"query": "x", "tenant_id": "ten_other"},
        {"query": "x", "filters": {"a": {"near": 1}}},
    ],
)
async def test_bad_search_requests_get_422(
    client: httpx.AsyncClient, body: dict[str, object]
) -> None:
    tenant = await make_tenant(client, "bad-search")
    for path in ("/v1/search", "/v1/query"):
        assert_problem(
            await client.post(path, json=body, headers=bearer(tenant.key)), 422, "validation_failed"
        )


async def test_unknown_route_and_method_are_problems(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/v1/nothing"), 404, "not_found")
    assert_problem(await client.put("/v1/search"), 405, "method_not_allowed")


async def test_ops_endpoints(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"]["catalog"] == "ok"
    # Metrics name tenants: only the separate metrics listener serves them.
    assert (await client.get("/metrics")).status_code == 404
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=metrics_app()), base_url="http://metrics"
    ) as scraper:
        metrics = await scraper.get("/metrics")
    assert "ragline_http_requests_total" in metrics.text
    spec = (await client.get("/openapi.json")).json()
    assert {"/v1/documents", "/v1/search", "/v1/query", "/v1/jobs/{job_id}"} <= spec["paths"].keys()
    assert "multipart/form-data" in spec["paths"]["/v1/documents"]["post"]["requestBody"]["content"]


async def test_every_supported_format_is_accepted_and_mislabelled_files_are_refused(
    client: httpx.AsyncClient,
) -> None:
    tenant = await make_tenant(client, "formats")
    accepted = {
        "paper.pdf": b"%PDF-1.7\n...",
        "report.docx": b"PK\x03\x04...",
        "page.html": b"<html><body><h1>Hi</h1></body></html>",
        "main.py": b"def main():\n    return 1\n",
        "lib.rs": b"fn main() {}\n",
    }
    for name, content in accepted.items():
        response = await client.post(
            "/v1/documents", files={"file": (name, content)}, headers=bearer(tenant.key)
        )
        assert response.status_code == 202, (name, response.text)
    refused = {
        "fake.pdf": b"just text pretending",
        "old.docx": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1legacy",
        "image.txt": b"\x89PNG\r\n\x1a\n....",
        "archive.md": b"PK\x03\x04zipped",
    }
    for name, content in refused.items():
        response = await client.post(
            "/v1/documents", files={"file": (name, content)}, headers=bearer(tenant.key)
        )
        assert_problem(response, 415, "content_type_mismatch")
    legacy = await client.post(
        "/v1/documents",
        files={"file": ("old.docx", refused["old.docx"])},
        headers=bearer(tenant.key),
    )
    assert "legacy .doc" in legacy.json()["detail"]
