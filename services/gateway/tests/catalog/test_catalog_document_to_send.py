"""The reads dispatch makes: the live document with one version's content, or
nothing if either is gone. The same suite on SQLite and on PostgreSQL."""

from __future__ import annotations

from catalog_harness import new_tenant, submit

from ragline_gateway.adapters.catalog import SqlCatalog
from ragline_gateway.adapters.catalog.dispatch_queue import INLINE_CONTENT_BYTES


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


async def test_waiting_jobs_come_with_their_own_versions_content_and_the_live_document(
    catalog: SqlCatalog,
) -> None:
    tenant_id = await new_tenant(catalog)
    other = await new_tenant(catalog, "other")
    first = await submit(catalog, tenant_id, b"first words", external_id="guide")
    second = await submit(catalog, tenant_id, b"second words", external_id="guide")
    await submit(catalog, other, b"not theirs")

    waiting = await catalog.next_unpublished(tenant_id, limit=10)

    assert [w.job.id for w in waiting] == [first.job.id, second.job.id]
    live = await catalog.get_document(tenant_id, first.document.id)
    assert [w.sent for w in waiting] == [(live, b"first words"), (live, b"second words")]
    assert [w.job.id for w in await catalog.next_unpublished(tenant_id, limit=1)] == [first.job.id]


async def test_a_large_content_is_left_to_be_read_on_its_own(catalog: SqlCatalog) -> None:
    tenant_id = await new_tenant(catalog)
    large = b"x" * (INLINE_CONTENT_BYTES + 1)
    made = await submit(catalog, tenant_id, large)

    [waiting] = await catalog.next_unpublished(tenant_id, limit=10)

    assert waiting.job.id == made.job.id and waiting.sent is None
    sent = await catalog.get_document_to_send(tenant_id, made.document.id, 1)
    assert sent is not None and sent[1] == large
