"""Hostile input at the front door: content types, sizes, strict bodies, headers, CORS."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from gw_front_door import gateway
from gw_harness import bearer, make_tenant
from test_gw_api import assert_problem

from ragline_gateway.settings import GatewaySettings

SETTINGS = GatewaySettings(max_upload_bytes=8 * 1024)
SECURITY = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


@pytest.fixture
async def client(tmp_path: Path) -> Any:
    async with gateway(tmp_path, SETTINGS) as http:
        yield http


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/v1/search", "text/plain"),
        ("/v1/search", "application/x-www-form-urlencoded"),
        ("/v1/query", "multipart/form-data; boundary=x"),
        ("/v1/documents", "application/xml"),
        ("/v1/documents", "text/plain"),
    ],
)
async def test_bodies_of_the_wrong_media_type_get_415(
    client: httpx.AsyncClient, path: str, content_type: str
) -> None:
    tenant = await make_tenant(client, "acme")
    response = await client.post(
        path,
        content=b'{"query": "x", "text": "x"}',
        headers={**bearer(tenant.key), "Content-Type": content_type},
    )
    assert_problem(response, 415, "unsupported_media_type")


async def test_a_body_without_a_content_type_gets_415(client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(client, "acme")
    response = await client.post(
        "/v1/search", content=b'{"query": "x"}', headers=bearer(tenant.key)
    )
    assert_problem(response, 415, "unsupported_media_type")


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/search", {"query": "x", "tenant_id": "ten_other"}),
        ("/v1/query", {"query": "x", "unknown": 1}),
        ("/v1/documents", {"text": "x", "tenant_id": "ten_other"}),
    ],
)
async def test_unknown_fields_are_refused(
    client: httpx.AsyncClient, path: str, body: dict[str, Any]
) -> None:
    tenant = await make_tenant(client, "acme")
    response = await client.post(path, json=body, headers=bearer(tenant.key))
    assert_problem(response, 422, "validation_failed")


@pytest.mark.parametrize("body", [b"{", b"[]", b'"text"', b"\xff\xfe", b'{"query": 5}'])
async def test_malformed_json_is_a_4xx_never_a_500(client: httpx.AsyncClient, body: bytes) -> None:
    tenant = await make_tenant(client, "acme")
    for path in ("/v1/search", "/v1/documents"):
        response = await client.post(
            path, content=body, headers={**bearer(tenant.key), "Content-Type": "application/json"}
        )
        assert 400 <= response.status_code < 500, (path, body, response.text)


async def test_oversize_bodies_are_refused_before_parsing(client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(client, "acme")
    huge = {"query": "x" * (16 * 1024)}
    response = await client.post("/v1/search", json=huge, headers=bearer(tenant.key))
    assert_problem(response, 413, "payload_too_large")
    for name, value in SECURITY.items():
        assert response.headers[name] == value


async def test_security_headers_are_on_every_response(client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(client, "acme")
    responses = [
        await client.get("/healthz"),
        await client.get("/v1/documents"),  # 401
        await client.get("/v1/documents", headers=bearer(tenant.key)),
        await client.get("/v1/nowhere", headers=bearer(tenant.key)),  # 404, no route
        await client.post("/v1/search", json={"query": "x"}, headers=bearer(tenant.key)),
    ]
    for response in responses:
        for name, value in SECURITY.items():
            assert response.headers.get(name) == value, (response.request.url, name)
        assert "default-src 'none'" in response.headers["content-security-policy"]
    assert responses[2].headers["cache-control"] == "no-store"
    # The interactive docs need their scripts: no CSP that would blank them.
    docs = await client.get("/docs")
    assert docs.status_code == 200 and "content-security-policy" not in docs.headers


async def test_cors_is_closed_by_default(client: httpx.AsyncClient) -> None:
    preflight = await client.options(
        "/v1/search",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in preflight.headers
    simple = await client.get("/healthz", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in simple.headers


async def test_cors_allows_only_the_configured_origins(tmp_path: Path) -> None:
    settings = GatewaySettings(cors_allow_origins=["https://app.example"])
    async with gateway(tmp_path, settings) as client:
        allowed = await client.options(
            "/v1/search",
            headers={
                "Origin": "https://app.example",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
            },
        )
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == "https://app.example"
        refused = await client.options(
            "/v1/search",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        )
        assert "access-control-allow-origin" not in refused.headers
        tenant = await make_tenant(client, "acme")
        actual = await client.post(
            "/v1/search",
            json={"query": "x"},
            headers={**bearer(tenant.key), "Origin": "https://app.example"},
        )
        assert actual.headers["access-control-allow-origin"] == "https://app.example"
        assert "RateLimit" in actual.headers["access-control-expose-headers"]


def _url_like_request_fields(schema: dict[str, Any]) -> list[str]:
    found: list[str] = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            if node.get("format") in {"uri", "url", "iri"}:
                found.append(where)
            for name in node.get("properties", {}):
                if "url" in name.lower() or "uri" in name.lower():
                    found.append(f"{where}.{name}")
            for key, sub in node.items():
                walk(sub, f"{where}/{key}")
        elif isinstance(node, list):
            for index, sub in enumerate(node):
                walk(sub, f"{where}[{index}]")

    for path, item in schema["paths"].items():
        for method, operation in item.items():
            walk(operation.get("requestBody", {}), f"{method.upper()} {path}")
    walk(schema.get("components", {}).get("schemas", {}), "components")
    return found


async def test_no_request_field_takes_a_url_without_the_ssrf_guard(
    client: httpx.AsyncClient,
) -> None:
    """A URL field must go through ``ragline_gateway.domain.public_urls``; none exists yet.

    When one is added, check it with ``public_addresses`` and list it here.
    """
    schema = (await client.get("/openapi.json")).json()
    guarded: set[str] = set()
    assert [f for f in _url_like_request_fields(schema) if f not in guarded] == []
