"""A whole gateway (in-process broker, fake worker) on SQLite and on PostgreSQL.

Two defects that only show with a real catalog behind the API: metadata an older gateway stored
that no ingest message can carry any more (the gateway must still start, fail that job with a
reason and dispatch everyone else's), and NUL characters, which PostgreSQL cannot store (every
door must refuse them with a 4xx, never a 500).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from gw_harness import (
    ADMIN_TOKEN,
    FakeAnswers,
    FakePeers,
    FakeSearch,
    bearer,
    infrastructure,
    make_tenant,
)
from pydantic import SecretStr

from ragline_cli.assembly import assemble_app
from ragline_common.settings import CatalogSettings, InfrastructureSettings
from ragline_common.tenancy import TenantId
from ragline_gateway.adapters.catalog import SqlCatalog
from ragline_gateway.component import GatewayComponent
from ragline_gateway.ports.catalog import DocumentDraft, Submission
from ragline_gateway.settings import GatewaySettings

PEPPER = "pepper-for-the-unsendable-jobs-test"


def _nested(depth: int) -> dict[str, Any]:
    value: Any = "leaf"
    for _ in range(depth - 1):
        value = {"k": value}
    return {"k": value}


async def _submit(
    catalog: SqlCatalog, tenant_id: TenantId, text: str, metadata: dict[str, Any]
) -> Submission:
    content = text.encode()
    draft = DocumentDraft(
        title="Old upload",
        source_name="old.txt",
        content_type="text/plain",
        content_hash=hashlib.sha256(content).hexdigest(),
        size_bytes=len(content),
        metadata=metadata,
        external_id=None,
    )
    return await catalog.submit_document(tenant_id, draft, content)


def _app_settings(
    tmp_path: Path, database_url: str
) -> tuple[InfrastructureSettings, GatewaySettings]:
    infra = replace(infrastructure(tmp_path), catalog=CatalogSettings(url=SecretStr(database_url)))
    gateway = GatewaySettings(
        max_upload_bytes=64 * 1024,
        query_per_minute=1000,
        ingest_per_minute=1000,
        key_pepper=SecretStr(PEPPER),
    )
    return infra, gateway


@asynccontextmanager
async def _client(tmp_path: Path, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    infra, gateway = _app_settings(tmp_path, database_url)
    app = assemble_app([FakePeers(FakeSearch(), FakeAnswers()), GatewayComponent(gateway)], infra)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
            yield http


async def _key(client: httpx.AsyncClient, tenant_id: str) -> str:
    response = await client.post(
        f"/v1/tenants/{tenant_id}/keys",
        json={"scopes": ["ingest", "query"]},
        headers=bearer(ADMIN_TOKEN),
    )
    assert response.status_code == 201, response.text
    return str(response.json()["key"])


async def _job(client: httpx.AsyncClient, key: str, job_id: str, status: str) -> dict[str, Any]:
    for _ in range(300):
        job: dict[str, Any] = (await client.get(f"/v1/jobs/{job_id}", headers=bearer(key))).json()
        if job.get("status") == status:
            return job
        await asyncio.sleep(0.02)
    raise AssertionError(f"job never reached {status}: {job}")


async def test_jobs_stored_with_metadata_no_message_can_carry_are_failed_at_start(
    tmp_path: Path, database_url: str
) -> None:
    """Stored by an older gateway: far too deep for any parser, one level too deep, too big."""
    catalog = SqlCatalog(database_url, pool_size=2)
    await catalog.open()
    try:
        first = (await catalog.create_tenant("first")).id
        later = (await catalog.create_tenant("later")).id
        bad = [
            await _submit(catalog, first, "deep", _nested(300)),
            await _submit(catalog, first, "six", _nested(6)),
            await _submit(catalog, first, "big", {"k": "x" * 20_000}),
        ]
        good_first = await _submit(catalog, first, "fine", {"k": "v"})
        good_later = await _submit(catalog, later, "also fine", {"k": "v"})
    finally:
        await catalog.close()

    async with _client(tmp_path, database_url) as client:
        first_key, later_key = await _key(client, first), await _key(client, later)
        for submission in bad:
            job = await _job(client, first_key, submission.job.id, "failed")
            assert "cannot be sent for indexing" in job["reason"]
            assert "metadata" in job["reason"]
        await _job(client, first_key, good_first.job.id, "indexed")
        await _job(client, later_key, good_later.job.id, "indexed")


@pytest.mark.parametrize(
    "body",
    [
        {"text": "t", "title": "a\x00b"},
        {"text": "t", "external_id": "a\x00b"},
        {"text": "a\x00b"},
        {"text": "t", "metadata": {"k": "a\x00b"}},
        {"text": "t", "metadata": {"k": {"a\x00b": 1}}},
    ],
    ids=["title", "external_id", "text", "metadata_value", "nested_metadata_key"],
)
async def test_nul_characters_are_refused_at_both_doors(
    tmp_path: Path, database_url: str, body: dict[str, Any]
) -> None:
    async with _client(tmp_path, database_url) as client:
        tenant = await make_tenant(client, "nul")
        by_json = await client.post("/v1/documents", json=body, headers=bearer(tenant.key))
        assert by_json.status_code == 422, by_json.text
        assert by_json.json()["code"] == "nul_character"
        fields = {k: v if isinstance(v, str) else json.dumps(v) for k, v in body.items()}
        text = fields.pop("text").encode()
        by_form = await client.post(
            "/v1/documents",
            files={"file": ("notes.txt", text, "text/plain")},
            data=fields,
            headers=bearer(tenant.key),
        )
        if "\x00" in body["text"]:
            # A file is bytes: stored as sent, for the parser (which drops control characters).
            assert by_form.status_code == 202, by_form.text
        else:
            assert by_form.status_code == 422, by_form.text
            assert by_form.json()["code"] == "nul_character"


async def test_nul_in_a_tenant_or_key_name_is_a_422(tmp_path: Path, database_url: str) -> None:
    async with _client(tmp_path, database_url) as client:
        tenant = await client.post(
            "/v1/tenants", json={"name": "a\x00b"}, headers=bearer(ADMIN_TOKEN)
        )
        assert tenant.status_code == 422, tenant.text
        assert [error["type"] for error in tenant.json()["errors"]] == ["nul_character"]
        made = await make_tenant(client, "named")
        key = await client.post(
            f"/v1/tenants/{made.id}/keys",
            json={"name": "a\x00b", "scopes": ["query"]},
            headers=bearer(ADMIN_TOKEN),
        )
        assert key.status_code == 422, key.text
