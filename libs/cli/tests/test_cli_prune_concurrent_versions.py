"""Two versions of one document indexed at once: pruning the older must not delete the newer.

The gateway's job-event handler and the ingestion component meet here as they do in the
monolith: in-process broker, SQLite catalog, the real Qdrant Edge store, hashing embedder. The
test holds the worker's status events back and hands them to the gateway in the order that
broke: version 2's ``indexed`` arrives after version 3's chunks are already written.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path

import anyio
import pytest

from ragline_cli.hosting import ProcessHost
from ragline_common.messages import JobStatus, JobStatusChanged, parse_message
from ragline_common.ports.broker import Broker, Delivery
from ragline_common.ports.vector_store import VectorStore
from ragline_common.settings import CoreSettings
from ragline_common.tenancy import TenantId
from ragline_common.topology import QueueName
from ragline_gateway.adapters.catalog import SqlCatalog
from ragline_gateway.consumers.job_events import JobEventHandler
from ragline_gateway.domain.dispatch import JobDispatcher
from ragline_gateway.domain.uploads import content_hash, submit_upload
from ragline_gateway.ports.catalog import DocumentDraft
from ragline_ingestion.component import IngestionComponent
from ragline_ingestion.settings import IngestionSettings
from ragline_testing.harness import embedded_settings

pytestmark = pytest.mark.timeout(60)


class HeldEvents:
    """Collects the worker's status events instead of applying them, to replay them later."""

    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []

    async def hold(self, delivery: Delivery) -> None:
        self.deliveries.append(delivery)

    def of(self, job_id: str) -> list[Delivery]:
        return [d for d in self.deliveries if _event(d).job_id == job_id]

    async def indexed(self, job_id: str) -> JobStatusChanged:
        async def arrived() -> bool:
            return any(_event(d).status is JobStatus.INDEXED for d in self.of(job_id))

        await eventually(arrived)
        return next(_event(d) for d in self.of(job_id) if _event(d).status is JobStatus.INDEXED)


def _event(delivery: Delivery) -> JobStatusChanged:
    message = parse_message(delivery.body)
    assert isinstance(message, JobStatusChanged)
    return message


async def eventually(condition: Callable[[], Awaitable[bool]], timeout_s: float = 20.0) -> None:
    """Poll ``condition``: the broker delivers in background tasks, there is nothing to await."""
    for _ in range(int(timeout_s / 0.02)):
        if await condition():
            return
        await anyio.sleep(0.02)
    pytest.fail(f"condition not met within {timeout_s} s")


@pytest.fixture
async def host(tmp_path: Path) -> AsyncIterator[ProcessHost]:
    settings = embedded_settings(CoreSettings(data_dir=tmp_path), hash_dimension=64)
    async with AsyncExitStack() as stack:
        host = ProcessHost(settings, stack)
        await IngestionComponent(
            IngestionSettings(max_chunk_tokens=32, chunk_overlap_tokens=4)
        ).start(host)
        yield host


@pytest.fixture
async def catalog(tmp_path: Path) -> AsyncIterator[SqlCatalog]:
    catalog = SqlCatalog(f"sqlite+aiosqlite:///{tmp_path / 'catalog.db'}", pool_size=1)
    await catalog.open()
    yield catalog
    await catalog.close()


def _text(animal: str) -> bytes:
    return f"# {animal}\n\n".encode() + b" ".join(
        f"The {animal} number {n} swims across the lake.".encode() for n in range(20)
    )


def _draft(content: bytes) -> DocumentDraft:
    return DocumentDraft(
        title="Lake",
        source_name="lake.md",
        content_type="text/markdown",
        content_hash=content_hash(content),
        size_bytes=len(content),
        metadata={},
        external_id="lake",
    )


async def _versions(store: VectorStore, tenant: TenantId, document_id: str) -> dict[int, int]:
    """Chunk count per stored version of the document."""
    counts: dict[int, int] = {}
    for payload in await store.list_chunks(tenant, document_id, limit=1000, offset=0):
        counts[payload.version] = counts.get(payload.version, 0) + 1
    return counts


async def test_a_newer_version_survives_the_prune_of_the_one_before(
    host: ProcessHost, catalog: SqlCatalog
) -> None:
    broker: Broker = await host.broker()
    store = await host.vector_store()
    held = HeldEvents()
    await broker.consume(QueueName.JOB_EVENTS, held.hold, prefetch=16)
    dispatcher = JobDispatcher(catalog, broker, window=4)
    gateway = JobEventHandler(catalog, broker, dispatcher)
    tenant = TenantId((await catalog.create_tenant("lake")).id)

    async def upload(animal: str) -> str:
        content = _text(animal)
        submission = await submit_upload(catalog, dispatcher, tenant, _draft(content), content)
        return submission.job.id

    async def replay(job_id: str) -> None:
        for delivery in held.of(job_id):
            await gateway(delivery)

    first = await upload("duck")
    await held.indexed(first)
    await replay(first)
    # Versions 2 and 3 are both written before the gateway hears of either.
    second, third = await upload("goose"), await upload("swan")
    document_id = (await held.indexed(second)).document_id
    v3 = await held.indexed(third)
    assert v3.version == 3 and v3.chunk_count is not None and v3.chunk_count > 1
    assert set(await _versions(store, tenant, document_id)) == {1, 2, 3}

    await replay(second)

    async def version_one_pruned() -> bool:
        return 1 not in await _versions(store, tenant, document_id)

    await eventually(version_one_pruned)
    assert (await _versions(store, tenant, document_id)).get(3) == v3.chunk_count

    await replay(third)

    async def version_two_pruned() -> bool:
        return 2 not in await _versions(store, tenant, document_id)

    await eventually(version_two_pruned)
    assert await _versions(store, tenant, document_id) == {3: v3.chunk_count}
    document = await catalog.get_document(tenant, document_id)
    assert document is not None and document.indexed_version == 3
    embedder = await host.embedder()
    hits = await store.search(
        tenant,
        mode="dense",
        dense=await embedder.embed_query("the swan swims across the lake"),
        sparse=None,
        limit=50,
    )
    assert len(hits) == v3.chunk_count
    assert {hit.payload.version for hit in hits} == {3}
