"""The component on a real host: in-process broker, embedded Qdrant Edge, hashing embedder.

This is the monolithic deployment minus HTTP: a job published to the commands exchange is
consumed, indexed into the real vector engine, and its status events come back on the events
exchange, exactly as the gateway would see them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path

import anyio
import pytest

from ragline_cli.hosting import ProcessHost
from ragline_common.messages import (
    DocumentDeleteRequested,
    DocumentIngestRequested,
    JobStatus,
    JobStatusChanged,
    parse_message,
)
from ragline_common.ports.broker import Delivery
from ragline_common.settings import CoreSettings
from ragline_common.tenancy import TenantId
from ragline_common.topology import ROUTING_DELETE, ROUTING_INGEST, QueueName
from ragline_ingestion.component import IngestionComponent
from ragline_ingestion.settings import IngestionSettings
from ragline_testing.harness import embedded_settings

TENANT = TenantId("ten_component")


@pytest.fixture
async def host(tmp_path: Path) -> AsyncIterator[ProcessHost]:
    settings = embedded_settings(CoreSettings(data_dir=tmp_path), hash_dimension=64)
    async with AsyncExitStack() as stack:
        yield ProcessHost(settings, stack)


class StatusInbox:
    """Stands in for the gateway: collects job status events from their queue."""

    def __init__(self) -> None:
        self.events: list[JobStatusChanged] = []

    async def handle(self, delivery: Delivery) -> None:
        message = parse_message(delivery.body)
        assert isinstance(message, JobStatusChanged)
        self.events.append(message)

    async def wait_for(self, job_id: str, status: JobStatus) -> JobStatusChanged:
        async def arrived() -> bool:
            return any(e.job_id == job_id and e.status is status for e in self.events)

        await eventually(arrived)
        return next(e for e in self.events if e.job_id == job_id and e.status is status)


async def eventually(condition: Callable[[], Awaitable[bool]], timeout_s: float = 10.0) -> None:
    """Poll ``condition``: the broker delivers in background tasks, there is nothing to await."""
    for _ in range(int(timeout_s / 0.01)):
        if await condition():
            return
        await anyio.sleep(0.01)
    pytest.fail(f"condition not met within {timeout_s} s")


def _request(content: bytes, *, version: int = 1) -> DocumentIngestRequested:
    return DocumentIngestRequested(
        tenant_id=TENANT,
        document_id="doc_c",
        job_id=f"job_c{version}",
        version=version,
        title="Ducks",
        source_name="ducks.md",
        content_type="text/markdown",
        content=content,
        content_hash=f"h{version}",
    )


async def test_start_registers_checks_and_indexes_published_jobs(host: ProcessHost) -> None:
    await IngestionComponent(IngestionSettings(max_chunk_tokens=32, chunk_overlap_tokens=4)).start(
        host
    )
    assert {"vector_store", "broker"} <= set(host.checks)
    for check in host.checks.values():
        await check()

    broker = await host.broker()
    inbox = StatusInbox()
    await broker.consume(QueueName.JOB_EVENTS, inbox.handle, prefetch=4)
    text = b"# Ducks\n\n" + b" ".join(b"Ducks paddle on the lake all day." for _ in range(30))

    await broker.publish(_request(text), routing_key=ROUTING_INGEST)
    indexed = await inbox.wait_for("job_c1", JobStatus.INDEXED)

    store = await host.vector_store()
    assert indexed.chunk_count is not None
    assert indexed.chunk_count > 1
    assert await store.count(TENANT, "doc_c") == indexed.chunk_count
    embedder = await host.embedder()
    hits = await store.search(
        TENANT,
        mode="dense",
        dense=await embedder.embed_query("ducks paddle on the lake"),
        sparse=None,
        limit=3,
    )
    assert hits
    assert hits[0].payload.heading_path == ("Ducks",)

    await broker.publish(_request(b"# Geese\n\nGeese honk.", version=2), routing_key=ROUTING_INGEST)
    await inbox.wait_for("job_c2", JobStatus.INDEXED)
    # Version 1 stays until the gateway, having switched searches over, asks for the prune.
    versions = {c.version for c in await store.list_chunks(TENANT, "doc_c", limit=100, offset=0)}
    assert versions == {1, 2}
    await broker.publish(
        DocumentDeleteRequested(tenant_id=TENANT, document_id="doc_c", keep_version=2),
        routing_key=ROUTING_DELETE,
    )

    async def pruned() -> bool:
        chunks = await store.list_chunks(TENANT, "doc_c", limit=100, offset=0)
        return [(c.version, c.text) for c in chunks] == [(2, "Geese\n\nGeese honk.")]

    await eventually(pruned)

    await broker.publish(
        DocumentDeleteRequested(tenant_id=TENANT, document_id="doc_c"), routing_key=ROUTING_DELETE
    )

    async def deleted() -> bool:
        return await store.count(TENANT, "doc_c") == 0

    await eventually(deleted)


async def test_a_failed_document_is_reported_and_parked_in_the_dead_letter_queue(
    host: ProcessHost,
) -> None:
    await IngestionComponent(IngestionSettings()).start(host)
    broker = await host.broker()
    inbox = StatusInbox()
    await broker.consume(QueueName.JOB_EVENTS, inbox.handle, prefetch=4)

    await broker.publish(_request(b"   \n"), routing_key=ROUTING_INGEST)

    failed = await inbox.wait_for("job_c1", JobStatus.FAILED)
    assert failed.reason == "document contains no text"

    async def parked() -> bool:
        return await broker.queue_depth(QueueName.DEAD_LETTERS) == 1

    await eventually(parked)


def test_routers_are_left_to_the_runner() -> None:
    component = IngestionComponent(IngestionSettings())
    assert component.name == "ingestion"
    assert list(component.routers(internal_api=True)) == []


def test_settings_refuse_an_overlap_as_large_as_a_chunk() -> None:
    with pytest.raises(ValueError, match="chunk_overlap_tokens must be smaller"):
        IngestionSettings(max_chunk_tokens=32, chunk_overlap_tokens=32)
