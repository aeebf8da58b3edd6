"""Re-publishing unfinished jobs after a restart or a crash between commit and publish."""

from __future__ import annotations

import asyncio
from pathlib import Path

from ragline_common.adapters.broker.memory import MemoryBroker
from ragline_common.messages import DocumentIngestRequested, JobStatus, parse_message
from ragline_common.ports.broker import Delivery
from ragline_common.ports.catalog import DocumentDraft
from ragline_common.tenancy import TenantId
from ragline_common.topology import QueueName
from ragline_gateway.adapters.catalog import SqlCatalog
from ragline_gateway.domain.recovery import republish_unfinished


def _draft(i: int) -> DocumentDraft:
    return DocumentDraft(
        title=f"doc {i}",
        source_name=f"{i}.txt",
        content_type="text/plain",
        content_hash=f"h{i}",
        size_bytes=5,
        metadata={},
    )


async def test_every_unfinished_job_is_published_again_in_pages(tmp_path: Path) -> None:
    catalog = SqlCatalog(f"sqlite+aiosqlite:///{tmp_path / 'c.db'}", pool_size=1)
    await catalog.open()
    broker = MemoryBroker()
    await broker.start()
    try:
        tenant = await catalog.create_tenant("t")
        submitted = [
            await catalog.submit_document(tenant.id, _draft(i), f"body{i}".encode())
            for i in range(230)
        ]
        done = submitted[0].job
        await catalog.apply_job_status(
            tenant.id, done.id, JobStatus.INDEXED, chunk_count=1, reason=None
        )
        for submission in submitted[1:5]:
            await catalog.mark_job_published(tenant.id, submission.job.id)

        # Only never-published jobs are swept in broker-backed mode.
        assert (
            await republish_unfinished(catalog, broker, only_unpublished=True, older_than_s=0)
            == 225
        )
        assert await broker.queue_depth(QueueName.INGESTION) == 225
        assert (
            await republish_unfinished(catalog, broker, only_unpublished=True, older_than_s=0) == 0
        )

        # After a restart of the volatile broker, everything unfinished goes out again.
        assert (
            await republish_unfinished(catalog, broker, only_unpublished=False, older_than_s=0)
            == 229
        )
        assert await broker.queue_depth(QueueName.INGESTION) == 225 + 229
        # Fresh jobs are left to the request that is publishing them right now.
        assert (
            await republish_unfinished(catalog, broker, only_unpublished=False, older_than_s=3600)
            == 0
        )
    finally:
        await broker.close()
        await catalog.close()


async def test_republished_message_carries_the_stored_content(tmp_path: Path) -> None:
    catalog = SqlCatalog(f"sqlite+aiosqlite:///{tmp_path / 'c.db'}", pool_size=1)
    await catalog.open()
    broker = MemoryBroker()
    await broker.start()
    received: list[DocumentIngestRequested] = []

    async def collect(delivery: Delivery) -> None:
        message = parse_message(delivery.body)
        assert isinstance(message, DocumentIngestRequested)
        received.append(message)

    try:
        tenant = await catalog.create_tenant("t")
        submission = await catalog.submit_document(TenantId(tenant.id), _draft(1), b"\x00raw bytes")
        await republish_unfinished(catalog, broker, only_unpublished=False, older_than_s=0)
        await broker.consume(QueueName.INGESTION, collect, prefetch=1)
        for _ in range(100):
            if received:
                break

            await asyncio.sleep(0.01)
        assert received[0].content == b"\x00raw bytes"
        assert received[0].job_id == submission.job.id
        job = await catalog.get_job(tenant.id, submission.job.id)
        assert job is not None and job.published
    finally:
        await broker.close()
        await catalog.close()
