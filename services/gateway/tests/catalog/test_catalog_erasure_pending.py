"""Deleted documents stay pending erasure until the broker confirmed their delete request."""

from __future__ import annotations

import hashlib

from ragline_common.tenancy import TenantId
from ragline_gateway.adapters.catalog import SqlCatalog
from ragline_gateway.ports.catalog import DocumentDraft


async def _document(catalog: SqlCatalog, tenant_id: TenantId, text: str) -> str:
    content = text.encode()
    draft = DocumentDraft(
        title=text,
        source_name=f"{text}.txt",
        content_type="text/plain",
        content_hash=hashlib.sha256(content).hexdigest(),
        size_bytes=len(content),
        metadata={},
    )
    return (await catalog.submit_document(tenant_id, draft, content)).document.id


async def test_a_deletion_is_pending_until_its_request_is_confirmed(catalog: SqlCatalog) -> None:
    acme = (await catalog.create_tenant("acme")).id
    globex = (await catalog.create_tenant("globex")).id
    kept = await _document(catalog, acme, "kept")
    first = await _document(catalog, acme, "first")
    second = await _document(catalog, globex, "second")
    assert await catalog.documents_pending_erasure(limit=10) == []

    assert await catalog.delete_document(acme, first)
    assert await catalog.delete_document(globex, second)
    assert await catalog.documents_pending_erasure(limit=10) == [(acme, first), (globex, second)]
    assert await catalog.documents_pending_erasure(limit=1) == [(acme, first)]

    # Confirmation is tenant-scoped: another tenant's id changes nothing.
    await catalog.mark_erasure_requested(globex, first)
    assert (acme, first) in await catalog.documents_pending_erasure(limit=10)
    await catalog.mark_erasure_requested(acme, first)
    await catalog.mark_erasure_requested(acme, first)  # a repeat is harmless
    assert await catalog.documents_pending_erasure(limit=10) == [(globex, second)]
    # A live document is never pending, confirmed or not.
    await catalog.mark_erasure_requested(acme, kept)
    assert await catalog.get_document(acme, kept) is not None
