"""What the modules of the SqlCatalog behaviour suite (``test_catalog_*.py`` that take the
``catalog`` fixture of this folder's ``conftest.py``) build their tenants and documents with.
"""

from __future__ import annotations

import hashlib

from ragline_common.tenancy import Scope, TenantId
from ragline_gateway.adapters.catalog import SqlCatalog
from ragline_gateway.ports.catalog import Catalog, DocumentDraft, Submission

ALL_SCOPES = frozenset(Scope)

_ADAPTER_FITS_THE_PORT: type[Catalog] = SqlCatalog
"""Checked by mypy --strict: a signature drifting from the port fails type checking."""


def draft(content: bytes, *, external_id: str | None = None, title: str = "Guide") -> DocumentDraft:
    return DocumentDraft(
        title=title,
        source_name=f"{title.lower()}.txt",
        content_type="text/plain",
        content_hash=hashlib.sha256(content).hexdigest(),
        size_bytes=len(content),
        metadata={"lang": "en", "tags": ["a", "b"], "nested": {"n": 1}},
        external_id=external_id,
    )


async def submit(
    catalog: SqlCatalog, tenant_id: TenantId, content: bytes, *, external_id: str | None = None
) -> Submission:
    return await catalog.submit_document(
        tenant_id, draft(content, external_id=external_id), content
    )


async def new_tenant(catalog: SqlCatalog, name: str = "acme") -> TenantId:
    return (await catalog.create_tenant(name)).id
