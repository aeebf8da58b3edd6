"""Dispatch failures stay with their job or their tenant: the others still go out."""

from __future__ import annotations

import hashlib
from pathlib import Path

from ragline_common.adapters.broker.memory import MemoryBroker
from ragline_common.messages import JobStatus
from ragline_common.tenancy import TenantId
from ragline_common.topology import QueueName
from ragline_gateway.adapters.catalog import SqlCatalog
from ragline_gateway.domain.dispatch import JobDispatcher
from ragline_gateway.ports.catalog import DocumentDraft, Submission, UnpublishedJob


async def _stored(
    catalog: SqlCatalog, tenant_id: TenantId, text: str, metadata: dict[str, object]
) -> Submission:
    """A job recorded without dispatching, as an older gateway may have left it."""
    content = text.encode()
    draft = DocumentDraft(
        title=text,
        source_name="a.txt",
        content_type="text/plain",
        content_hash=hashlib.sha256(content).hexdigest(),
        size_bytes=len(content),
        metadata=metadata,  # type: ignore[arg-type]
    )
    return await catalog.submit_document(tenant_id, draft, content)


class ContentFails(SqlCatalog):
    """The SQLite catalog, failing unexpectedly whenever one tenant's content is read."""

    broken: TenantId | None = None

    async def next_unpublished(self, tenant_id: TenantId, *, limit: int) -> list[UnpublishedJob]:
        if tenant_id == self.broken:
            raise RuntimeError("simulated fault in one tenant's rows")
        return await super().next_unpublished(tenant_id, limit=limit)


async def test_a_bad_job_is_failed_and_the_tenants_next_job_still_goes_out(
    catalog: SqlCatalog, broker: MemoryBroker
) -> None:
    tenant = (await catalog.create_tenant("t")).id
    bad = await _stored(catalog, tenant, "bad", {"k": [[[[["too deep"]]]]]})
    good = await _stored(catalog, tenant, "good", {"k": "v"})

    assert await JobDispatcher(catalog, broker, window=5).dispatch_all() == 1

    failed = await catalog.get_job(tenant, bad.job.id)
    assert failed is not None and failed.status is JobStatus.FAILED
    assert failed.reason is not None and "nest" in failed.reason
    sent = await catalog.get_job(tenant, good.job.id)
    assert sent is not None and sent.published
    assert await broker.queue_depth(QueueName.INGESTION) == 1


async def test_one_tenants_error_does_not_stop_the_sweep(
    tmp_path: Path, broker: MemoryBroker
) -> None:
    catalog = ContentFails(f"sqlite+aiosqlite:///{tmp_path / 'faulty.db'}", pool_size=1)
    await catalog.open()
    try:
        first = (await catalog.create_tenant("first")).id
        second = (await catalog.create_tenant("second")).id
        await _stored(catalog, first, "one", {})
        later = await _stored(catalog, second, "two", {})
        catalog.broken = first
        dispatcher = JobDispatcher(catalog, broker, window=5)

        assert await dispatcher.dispatch_all() == 1
        assert await dispatcher.dispatch(first) == 0  # logged, never raised to the caller
        sent = await catalog.get_job(second, later.job.id)
        assert sent is not None and sent.published
    finally:
        await catalog.close()
