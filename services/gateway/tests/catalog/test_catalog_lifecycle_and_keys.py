"""Behaviour of :class:`SqlCatalog`: opening a database, tenants and API keys, and datetimes kept
aware and in UTC. The same suite on SQLite and on PostgreSQL (the ``catalog`` fixture of this
folder's ``conftest.py``).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone

import pytest
from catalog_harness import ALL_SCOPES, new_tenant, submit

from ragline_common.errors import NotFound
from ragline_common.tenancy import Scope, TenantId
from ragline_gateway.adapters.catalog import SqlCatalog

# schema and lifecycle


async def test_open_is_idempotent_and_data_survives_reopen(database_url: str) -> None:
    first = SqlCatalog(database_url, pool_size=2)
    await first.open()
    await first.open()
    tenant = await first.create_tenant("acme")
    key = await first.create_api_key(
        tenant.id, name="ci", prefix="rl_ab", key_hash="h" * 64, scopes=ALL_SCOPES, expires_at=None
    )
    stored = await submit(first, tenant.id, b"body", external_id="ext")
    await first.close()

    second = SqlCatalog(database_url, pool_size=2)
    await second.open()
    try:
        assert await second.get_tenant(tenant.id) == tenant
        assert await second.find_api_key("h" * 64) == key
        assert await second.get_document(tenant.id, stored.document.id) == stored.document
        assert await second.get_document_content(tenant.id, stored.document.id, 1) == b"body"
        again = await submit(second, tenant.id, b"body", external_id="ext")
        assert again.created is False
        assert again.job == stored.job
    finally:
        await second.close()


async def test_concurrent_opens_on_an_empty_database_all_succeed(database_url: str) -> None:
    replicas = [SqlCatalog(database_url, pool_size=1) for _ in range(3)]
    try:
        await asyncio.gather(*(replica.open() for replica in replicas))
        tenant = await replicas[0].create_tenant("acme")
        assert await replicas[2].get_tenant(tenant.id) == tenant
    finally:
        for replica in replicas:
            await replica.close()


async def test_ping_succeeds_on_a_live_database(catalog: SqlCatalog) -> None:
    await catalog.ping()


# tenants and keys


async def test_tenants_are_created_listed_and_fetched(catalog: SqlCatalog) -> None:
    acme = await catalog.create_tenant("acme")
    globex = await catalog.create_tenant("globex")

    assert acme.id.startswith("ten_")
    assert acme.id != globex.id
    assert await catalog.get_tenant(acme.id) == acme
    assert await catalog.get_tenant(TenantId("ten_missing")) is None
    assert await catalog.list_tenants() == [acme, globex]


async def test_api_keys_are_created_found_by_hash_and_listed(catalog: SqlCatalog) -> None:
    tenant_id = await new_tenant(catalog)
    expires = datetime.now(UTC) + timedelta(days=30)
    key = await catalog.create_api_key(
        tenant_id,
        name="ingest bot",
        prefix="rl_1234",
        key_hash="a" * 64,
        scopes=frozenset({Scope.INGEST, Scope.QUERY}),
        expires_at=expires,
    )
    other = await catalog.create_api_key(
        tenant_id,
        name="admin",
        prefix="rl_5678",
        key_hash="b" * 64,
        scopes=ALL_SCOPES,
        expires_at=None,
    )

    assert key.id.startswith("key_")
    assert key.tenant_id == tenant_id
    assert (key.name, key.prefix) == ("ingest bot", "rl_1234")
    assert key.scopes == frozenset({Scope.INGEST, Scope.QUERY})
    assert key.expires_at == expires
    assert key.revoked_at is None
    assert key.last_used_at is None
    assert await catalog.find_api_key("a" * 64) == key
    assert await catalog.find_api_key("c" * 64) is None
    assert await catalog.list_api_keys(tenant_id) == [key, other]


async def test_api_key_for_a_missing_tenant_is_refused(catalog: SqlCatalog) -> None:
    with pytest.raises(NotFound):
        await catalog.create_api_key(
            TenantId("ten_missing"),
            name="x",
            prefix="rl_x",
            key_hash="d" * 64,
            scopes=ALL_SCOPES,
            expires_at=None,
        )


async def test_revoking_a_key_is_tenant_scoped_and_keeps_the_first_time(
    catalog: SqlCatalog,
) -> None:
    owner = await new_tenant(catalog, "owner")
    stranger = await new_tenant(catalog, "stranger")
    key = await catalog.create_api_key(
        owner, name="k", prefix="rl_k", key_hash="e" * 64, scopes=ALL_SCOPES, expires_at=None
    )

    assert await catalog.revoke_api_key(stranger, key.id) is False
    assert (await catalog.find_api_key("e" * 64)) == key

    assert await catalog.revoke_api_key(owner, key.id) is True
    revoked = await catalog.find_api_key("e" * 64)
    assert revoked is not None
    assert revoked.revoked_at is not None

    assert await catalog.revoke_api_key(owner, key.id) is True
    assert await catalog.find_api_key("e" * 64) == revoked
    assert await catalog.revoke_api_key(owner, "key_missing") is False


async def test_touching_a_key_records_the_latest_use_only(catalog: SqlCatalog) -> None:
    tenant_id = await new_tenant(catalog)
    key = await catalog.create_api_key(
        tenant_id, name="k", prefix="rl_k", key_hash="f" * 64, scopes=ALL_SCOPES, expires_at=None
    )
    later = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)

    await catalog.touch_api_key(key.id, later)
    await catalog.touch_api_key(key.id, later - timedelta(minutes=5))

    touched = await catalog.find_api_key("f" * 64)
    assert touched is not None
    assert touched.last_used_at == later


# time


async def test_datetimes_are_aware_utc_in_and_out(catalog: SqlCatalog) -> None:
    tenant = await catalog.create_tenant("acme")
    plus_two = timezone(timedelta(hours=2))
    expires = datetime(2031, 1, 1, 14, 30, 15, 123456, tzinfo=plus_two)
    key = await catalog.create_api_key(
        tenant.id,
        name="k",
        prefix="rl_k",
        key_hash="4" * 64,
        scopes=ALL_SCOPES,
        expires_at=expires,
    )
    submission = await submit(catalog, tenant.id, b"x")
    found = await catalog.find_api_key("4" * 64)
    assert found is not None

    assert found.expires_at == expires
    assert found.expires_at is not None
    assert found.expires_at.utcoffset() == timedelta(0)
    assert found.expires_at.hour == 12
    stamps = [
        tenant.created_at,
        found.created_at,
        submission.document.created_at,
        submission.document.updated_at,
        submission.job.created_at,
        submission.job.updated_at,
    ]
    now = datetime.now(UTC)
    for stamp in stamps:
        assert stamp.utcoffset() == timedelta(0)
        assert abs(now - stamp) < timedelta(minutes=1)
    with pytest.raises(ValueError, match="timezone-aware"):
        await catalog.touch_api_key(key.id, datetime(2030, 1, 1))
