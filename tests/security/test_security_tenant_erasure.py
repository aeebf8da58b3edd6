"""DELETE /v1/tenants/{id} erases the tenant's vectors, catalog rows, blobs and keys."""

from __future__ import annotations

import asyncio

from security_stack import ADMIN, Stack, bearer, create_tenant, upload_and_index
from sqlalchemy import MetaData, select
from sqlalchemy.ext.asyncio import create_async_engine

from ragline_common.tenancy import TenantId

DEPLOYMENT_TABLES = frozenset({"alembic_version", "index_models"})
"""Tables that hold no tenant's data: the schema version, which model index reads use."""


async def _catalog_rows(stack: Stack, tenant_id: str) -> dict[str, int]:
    """Rows mentioning the tenant in every catalog table (found by reflection, not a list)."""
    url = stack.host.settings.catalog.resolved_url(stack.data_dir)
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            schema = MetaData()
            await connection.run_sync(schema.reflect)
            rows: dict[str, int] = {}
            for table in schema.sorted_tables:
                if "tenant_id" not in table.c and "id" not in table.c:
                    # A table with no tenant column must be the deployment's own, by name.
                    assert table.name in DEPLOYMENT_TABLES, f"{table.name}: whose rows?"
                    continue
                column = table.c["tenant_id"] if "tenant_id" in table.c else table.c["id"]
                found = await connection.execute(select(table).where(column == tenant_id))
                rows[table.name] = len(found.all())
            return rows
    finally:
        await engine.dispose()


async def test_deleting_a_tenant_leaves_nothing_of_it_in_qdrant_or_the_catalog(
    stack: Stack,
) -> None:
    client = stack.client
    doomed = await create_tenant(client, "doomed")
    kept = await create_tenant(client, "kept")
    for tenant in (doomed, kept):
        await upload_and_index(client, tenant, "Otters hold hands while they sleep. " * 20)
        await upload_and_index(
            client, tenant, "Ducks sleep with one eye open.", external_id="ducks"
        )
        await upload_and_index(
            client, tenant, "Ducks sleep with one eye open, mostly.", external_id="ducks"
        )
        assert (
            await client.post(
                "/v1/query",
                json={"query": "how do otters sleep?"},
                headers={**bearer(tenant.keys["query"]), "Idempotency-Key": "q1"},
            )
        ).status_code == 200
    vectors = await stack.host.vector_store()
    assert await vectors.count(TenantId(doomed.id)) > 0
    kept_rows = await _catalog_rows(stack, kept.id)
    kept_vectors = await vectors.count(TenantId(kept.id))
    before = await _catalog_rows(stack, doomed.id)
    assert before["documents"] == 2 and before["document_blobs"] == 3 and before["api_keys"] == 3
    assert before["idempotency_keys"] == 1

    deleted = await client.delete(f"/v1/tenants/{doomed.id}", headers=ADMIN)
    assert deleted.status_code == 204

    # Keys stop working at once.
    refused = await client.get("/v1/documents", headers=bearer(doomed.keys["ingest"]))
    assert refused.status_code == 401
    # The catalog holds no row of it, in any table.
    assert set((await _catalog_rows(stack, doomed.id)).values()) == {0}
    # The vector store empties as the worker handles the erasure.
    for _ in range(200):
        if await vectors.count(TenantId(doomed.id)) == 0:
            break
        await asyncio.sleep(0.025)
    assert await vectors.count(TenantId(doomed.id)) == 0
    # The other tenant is untouched.
    assert await _catalog_rows(stack, kept.id) == kept_rows
    assert await vectors.count(TenantId(kept.id)) == kept_vectors
    search = await client.post(
        "/v1/search", json={"query": "otters"}, headers=bearer(kept.keys["query"])
    )
    assert search.status_code == 200 and search.json()["results"]
    # A second delete finds nothing.
    assert (await client.delete(f"/v1/tenants/{doomed.id}", headers=ADMIN)).status_code == 404
