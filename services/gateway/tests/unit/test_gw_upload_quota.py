"""The storage quota of an upload, as both doors check it (``enforce_upload_quota``): the
tenant's override where the operator set one, else the gateway's default, against what the
tenant stores now."""

from __future__ import annotations

import hashlib

import pytest

from ragline_common.errors import QuotaExceeded
from ragline_common.tenancy import TenantId
from ragline_gateway.adapters.catalog import SqlCatalog
from ragline_gateway.domain.key_directory import KeyDirectory
from ragline_gateway.domain.limits import enforce_upload_quota
from ragline_gateway.ports.catalog import DocumentDraft, TenantLimits
from ragline_gateway.settings import GatewaySettings


def _draft(text: str, *, external_id: str | None = None) -> tuple[DocumentDraft, bytes]:
    content = text.encode()
    draft = DocumentDraft(
        title=text,
        source_name="notes.txt",
        content_type="text/plain",
        content_hash=hashlib.sha256(content).hexdigest(),
        size_bytes=len(content),
        metadata={},
        external_id=external_id,
    )
    return draft, content


async def _upload(
    catalog: SqlCatalog, settings: GatewaySettings, tenant_id: TenantId, text: str, **kw: str
) -> None:
    """What a door does: the quota first, then the catalog records the upload."""
    draft, content = _draft(text, **kw)
    directory = KeyDirectory(catalog, ttl_s=0, touch_interval_s=0)
    await enforce_upload_quota(
        tenant_id, draft, overrides=directory, documents=catalog, settings=settings
    )
    await catalog.submit_document(tenant_id, draft, content)


async def test_the_operators_override_binds_over_the_default(catalog: SqlCatalog) -> None:
    settings = GatewaySettings(quota_documents=10)
    tenant = (await catalog.create_tenant("acme")).id
    await catalog.set_tenant_limits(tenant, TenantLimits(max_documents=1))
    await _upload(catalog, settings, tenant, "the first fits")
    with pytest.raises(QuotaExceeded):
        await _upload(catalog, settings, tenant, "the second does not")
    assert (await catalog.storage_usage(tenant)).documents == 1


async def test_without_an_override_the_default_binds(catalog: SqlCatalog) -> None:
    settings = GatewaySettings(quota_stored_bytes=20)
    tenant = (await catalog.create_tenant("acme")).id
    await _upload(catalog, settings, tenant, "ten bytes!")
    with pytest.raises(QuotaExceeded):
        await _upload(catalog, settings, tenant, "eleven byte")
    await _upload(catalog, settings, tenant, "ten bytes.")


async def test_a_new_version_counts_only_its_growth(catalog: SqlCatalog) -> None:
    settings = GatewaySettings(quota_documents=1, quota_stored_bytes=12)
    tenant = (await catalog.create_tenant("acme")).id
    await _upload(catalog, settings, tenant, "ten bytes!", external_id="notes")
    await _upload(catalog, settings, tenant, "twelve bytes", external_id="notes")
    with pytest.raises(QuotaExceeded):
        await _upload(catalog, settings, tenant, "thirteen byte", external_id="notes")
