"""Catalog rows of the front door (migration 0004), on SQLite and PostgreSQL alike:
tenant limits, storage usage, key rotation and idempotency records."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from sqlalchemy import MetaData, select
from sqlalchemy.ext.asyncio import create_async_engine

from ragline_common.tenancy import Scope, TenantId
from ragline_gateway.adapters.catalog import SqlCatalog
from ragline_gateway.ports.catalog import DocumentDraft, StoredResponse, TenantLimits

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
DAY = 24 * 3600.0


def _draft(content: bytes, external_id: str | None = None) -> DocumentDraft:
    return DocumentDraft(
        title="t",
        source_name="t.txt",
        content_type="text/plain",
        content_hash=hashlib.sha256(content).hexdigest(),
        size_bytes=len(content),
        metadata={},
        external_id=external_id,
    )


async def _tenant(catalog: SqlCatalog, name: str = "acme") -> TenantId:
    return (await catalog.create_tenant(name)).id


async def test_tenant_limits_default_to_none_and_are_stored(catalog: SqlCatalog) -> None:
    tenant = await _tenant(catalog)
    assert await catalog.get_tenant_limits(tenant) == TenantLimits()
    limits = TenantLimits(query_per_minute=5, max_documents=10, max_llm_tokens_per_day=2**40)
    assert await catalog.set_tenant_limits(tenant, limits) is True
    assert await catalog.get_tenant_limits(tenant) == limits
    assert await catalog.get_tenant_limits(TenantId("ten_missing")) is None
    assert await catalog.set_tenant_limits(TenantId("ten_missing"), limits) is False


async def test_storage_usage_counts_live_documents_current_versions(catalog: SqlCatalog) -> None:
    tenant = await _tenant(catalog)
    other = await _tenant(catalog, "other")
    await catalog.submit_document(tenant, _draft(b"12345", "a"), b"12345")
    await catalog.submit_document(tenant, _draft(b"1234567890", "a"), b"1234567890")
    loose = await catalog.submit_document(tenant, _draft(b"xyz"), b"xyz")
    await catalog.submit_document(other, _draft(b"other tenant"), b"other tenant")
    usage = await catalog.storage_usage(tenant)
    assert (usage.documents, usage.stored_bytes) == (2, 13)
    await catalog.delete_document(tenant, loose.document.id)
    usage = await catalog.storage_usage(tenant)
    assert (usage.documents, usage.stored_bytes) == (1, 10)
    found = await catalog.find_document_by_external_id(tenant, "a")
    assert found is not None and found.size_bytes == 10
    assert await catalog.find_document_by_external_id(other, "a") is None


async def test_retiring_a_key_sets_its_replacement_and_never_extends_it(
    catalog: SqlCatalog,
) -> None:
    tenant = await _tenant(catalog)
    other = await _tenant(catalog, "other")

    async def key(hash_char: str, expires_at: datetime | None) -> str:
        record = await catalog.create_api_key(
            tenant,
            name="k",
            prefix="rl_x",
            key_hash=hash_char * 64,
            scopes=frozenset({Scope.QUERY}),
            expires_at=expires_at,
        )
        return record.id

    forever = await key("a", None)
    soon = await key("b", NOW + timedelta(minutes=5))
    assert await catalog.retire_api_key(tenant, forever, replaced_by="key_new", expires_at=NOW)
    assert await catalog.retire_api_key(
        tenant, soon, replaced_by="key_new", expires_at=NOW + timedelta(days=1)
    )
    assert not await catalog.retire_api_key(other, forever, replaced_by="x", expires_at=NOW)
    keys = {k.id: k for k in await catalog.list_api_keys(tenant)}
    assert keys[forever].expires_at == NOW and keys[forever].replaced_by == "key_new"
    assert keys[soon].expires_at == NOW + timedelta(minutes=5)


async def test_idempotency_claim_complete_replay_and_mismatch(catalog: SqlCatalog) -> None:
    tenant = await _tenant(catalog)
    other = await _tenant(catalog, "other")

    async def claim(tenant_id: TenantId, fingerprint: str, at: datetime = NOW) -> str:
        result = await catalog.claim_idempotency_key(
            tenant_id, "key-1", fingerprint, now=at, lease_s=300, ttl_s=DAY
        )
        return result.outcome

    assert await claim(tenant, "f1") == "claimed"
    assert await claim(tenant, "f1") == "running"
    assert await claim(tenant, "f2") == "mismatch"
    assert await claim(other, "f2") == "claimed"  # keys are per tenant
    stored = StoredResponse(202, [("content-type", "application/json")], b'{"ok":true}')
    await catalog.complete_idempotency_key(tenant, "key-1", stored)
    replay = await catalog.claim_idempotency_key(
        tenant, "key-1", "f1", now=NOW, lease_s=300, ttl_s=DAY
    )
    assert replay.outcome == "done" and replay.response == stored
    # After 24 h the key is new again, even for another request.
    assert await claim(tenant, "f2", NOW + timedelta(seconds=DAY + 1)) == "claimed"


async def test_idempotency_release_and_abandoned_claims(catalog: SqlCatalog) -> None:
    tenant = await _tenant(catalog)

    async def claim(at: datetime) -> str:
        result = await catalog.claim_idempotency_key(
            tenant, "k", "f", now=at, lease_s=60, ttl_s=DAY
        )
        return result.outcome

    assert await claim(NOW) == "claimed"
    await catalog.release_idempotency_key(tenant, "k")
    assert await claim(NOW) == "claimed"
    assert await claim(NOW + timedelta(seconds=30)) == "running"
    # The claimant's replica died: after the lease a retry takes over.
    assert await claim(NOW + timedelta(seconds=61)) == "claimed"
    assert await catalog.purge_idempotency_keys(before=NOW + timedelta(seconds=DAY + 62)) == 1


async def test_deleting_a_tenant_erases_its_front_door_rows(
    catalog: SqlCatalog, database_url: str
) -> None:
    tenant = await _tenant(catalog)
    kept = await _tenant(catalog, "kept")
    for tenant_id in (tenant, kept):
        await catalog.claim_idempotency_key(tenant_id, "k", "f", now=NOW, lease_s=60, ttl_s=DAY)
        await catalog.set_tenant_limits(tenant_id, TenantLimits(max_documents=1))
    assert await catalog.delete_tenant(tenant)

    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            schema = MetaData()
            await connection.run_sync(schema.reflect)
            left: dict[str, int] = {}
            for table in schema.sorted_tables:
                column = table.c.get("tenant_id") if "tenant_id" in table.c else table.c.get("id")
                if table.name == "alembic_version" or column is None:
                    continue
                rows = (await connection.execute(select(table).where(column == tenant))).all()
                left[table.name] = len(rows)
    finally:
        await engine.dispose()
    assert "idempotency_keys" in left and "tenants" in left
    assert set(left.values()) == {0}, left
    assert await catalog.get_tenant_limits(kept) == TenantLimits(max_documents=1)
