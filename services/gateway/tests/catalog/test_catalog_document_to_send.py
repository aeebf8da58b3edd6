"""The one read dispatch makes per job: the live document with one version's content, or
nothing if either is gone. The same suite on SQLite and on PostgreSQL."""

from __future__ import annotations

from catalog_harness import new_tenant, submit

from ragline_gateway.adapters.catalog import SqlCatalog


async def test_the_document_comes_with_the_content_of_the_version_asked_for(
    catalog: SqlCatalog,
) -> None:
    tenant_id = await new_tenant(catalog)
    first = await submit(catalog, tenant_id, b"first words", external_id="guide")
    second = await submit(catalog, tenant_id, b"second words", external_id="guide")
    assert second.document.version == 2

    old = await catalog.get_document_to_send(tenant_id, first.document.id, 1)
    new = await catalog.get_document_to_send(tenant_id, first.document.id, 2)

    assert old is not None and new is not None
    assert old[1] == b"first words" and new[1] == b"second words"
    assert new[0] == await catalog.get_document(tenant_id, first.document.id)


async def test_nothing_for_a_missing_version_another_tenant_or_a_deleted_document(
    catalog: SqlCatalog,
) -> None:
    tenant_id = await new_tenant(catalog)
    other = await new_tenant(catalog, "other")
    made = await submit(catalog, tenant_id, b"words")

    assert await catalog.get_document_to_send(tenant_id, made.document.id, 2) is None
    assert await catalog.get_document_to_send(other, made.document.id, 1) is None
    assert await catalog.delete_document(tenant_id, made.document.id)
    assert await catalog.get_document_to_send(tenant_id, made.document.id, 1) is None
