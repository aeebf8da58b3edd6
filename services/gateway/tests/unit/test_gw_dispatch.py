"""Fair dispatch: a window of jobs per tenant in the queue, topped up as jobs finish."""

from __future__ import annotations

import asyncio
from pathlib import Path

from ragline_common.adapters.broker.memory import MemoryBroker
from ragline_common.errors import UpstreamUnavailable
from ragline_common.messages import DocumentIngestRequested, JobStatus, parse_message
from ragline_common.ports.broker import Delivery
from ragline_common.tenancy import TenantId
from ragline_common.topology import QueueName
from ragline_gateway.adapters.catalog import SqlCatalog
from ragline_gateway.adapters.catalog.dispatch_queue import INLINE_CONTENT_BYTES
from ragline_gateway.domain.dispatch import JobDispatcher
from ragline_gateway.domain.uploads import submit_upload
from ragline_gateway.ports.catalog import DocumentDraft


def _draft(i: int) -> DocumentDraft:
    return DocumentDraft(
        title=f"doc {i}",
        source_name=f"{i}.txt",
        content_type="text/plain",
        content_hash=f"h{i}",
        size_bytes=5,
        metadata={},
    )


async def test_a_tenant_never_has_more_than_its_window_in_the_queue(
    catalog: SqlCatalog, broker: MemoryBroker
) -> None:
    dispatcher = JobDispatcher(catalog, broker, window=3)
    tenant = (await catalog.create_tenant("busy")).id
    submissions = [
        await submit_upload(catalog, dispatcher, tenant, _draft(i), f"body {i}".encode())
        for i in range(10)
    ]
    assert all(s.created for s in submissions)
    assert await broker.queue_depth(QueueName.INGESTION) == 3
    assert await catalog.count_in_flight(tenant) == 3

    # Finishing a job frees a slot; the next dispatch tops the window up, oldest first.
    first = submissions[0].job
    await catalog.apply_job_status(tenant, first.id, JobStatus.INDEXED, chunk_count=1, reason=None)
    assert await dispatcher.dispatch(tenant) == 1
    assert await broker.queue_depth(QueueName.INGESTION) == 4
    waiting = await catalog.next_unpublished(tenant, limit=100)
    assert [waiting_job.job.id for waiting_job in waiting] == [s.job.id for s in submissions[4:]]


async def test_another_tenants_single_upload_goes_out_at_once(
    catalog: SqlCatalog, broker: MemoryBroker
) -> None:
    dispatcher = JobDispatcher(catalog, broker, window=2)
    busy = (await catalog.create_tenant("busy")).id
    quiet = (await catalog.create_tenant("quiet")).id
    for i in range(50):
        await submit_upload(catalog, dispatcher, busy, _draft(i), f"busy {i}".encode())
    single = await submit_upload(catalog, dispatcher, quiet, _draft(99), b"quiet one")
    # The queue holds the busy tenant's window and then the quiet tenant's document.
    assert await broker.queue_depth(QueueName.INGESTION) == 3
    job = await catalog.get_job(quiet, single.job.id)
    assert job is not None
    assert job.published
    assert await catalog.tenants_with_unpublished(limit=10) == [TenantId(busy)]


async def test_sweep_publishes_waiting_jobs_and_a_broker_outage_loses_nothing(
    catalog: SqlCatalog, broker: MemoryBroker
) -> None:
    class DownBroker(MemoryBroker):
        async def publish(self, *args: object, **kwargs: object) -> None:
            raise UpstreamUnavailable("broker down")

    tenant = (await catalog.create_tenant("t")).id
    down = JobDispatcher(catalog, DownBroker(), window=5)
    accepted = [
        await submit_upload(catalog, down, tenant, _draft(i), f"b{i}".encode()) for i in range(3)
    ]
    assert all(s.created for s in accepted)  # durable in the catalog: the upload succeeds
    assert await catalog.count_in_flight(tenant) == 0
    assert await catalog.tenants_with_unpublished(limit=10) == [TenantId(tenant)]

    assert await JobDispatcher(catalog, broker, window=5).dispatch_all() == 3
    assert await broker.queue_depth(QueueName.INGESTION) == 3
    assert await catalog.tenants_with_unpublished(limit=10) == []


async def test_after_a_restart_of_the_volatile_broker_everything_unfinished_goes_out_again(
    catalog: SqlCatalog, broker: MemoryBroker
) -> None:
    tenant = (await catalog.create_tenant("t")).id
    dispatcher = JobDispatcher(catalog, broker, window=10)
    submissions = [
        await submit_upload(catalog, dispatcher, tenant, _draft(i), f"b{i}".encode())
        for i in range(4)
    ]
    done = submissions[0].job
    await catalog.apply_job_status(tenant, done.id, JobStatus.INDEXED, chunk_count=1, reason=None)

    fresh = MemoryBroker()  # the old process's queue is gone
    await fresh.start()
    try:
        assert await catalog.reset_publication() == 3
        assert await JobDispatcher(catalog, fresh, window=10).dispatch_all() == 3
        assert await fresh.queue_depth(QueueName.INGESTION) == 3
    finally:
        await fresh.close()


async def test_published_messages_carry_the_stored_content_small_or_large(
    catalog: SqlCatalog, broker: MemoryBroker
) -> None:
    # A small content is read with its job; a large one on its own, when its job goes out.
    small, large = b"\x00raw bytes", b"\x01" + b"x" * INLINE_CONTENT_BYTES
    tenant = (await catalog.create_tenant("t")).id
    dispatcher = JobDispatcher(catalog, broker, window=2)
    jobs = [
        (await submit_upload(catalog, dispatcher, tenant, _draft(i), content)).job.id
        for i, content in enumerate((small, large))
    ]
    received: list[DocumentIngestRequested] = []

    async def collect(delivery: Delivery) -> None:
        message = parse_message(delivery.body)
        assert isinstance(message, DocumentIngestRequested)
        received.append(message)

    await broker.consume(QueueName.INGESTION, collect, prefetch=1)
    for _ in range(100):
        if len(received) == 2:
            break
        await asyncio.sleep(0.01)
    assert [(m.job_id, m.content) for m in received] == [(jobs[0], small), (jobs[1], large)]


async def test_a_dispatch_requested_while_one_runs_becomes_one_more_round_not_a_queue(
    catalog: SqlCatalog, broker: MemoryBroker
) -> None:
    dispatcher = JobDispatcher(catalog, broker, window=2)
    tenant = (await catalog.create_tenant("bursty")).id
    submissions = [
        await submit_upload(catalog, dispatcher, tenant, _draft(i), f"body {i}".encode())
        for i in range(4)
    ]
    assert await broker.queue_depth(QueueName.INGESTION) == 2
    waiting = {w.job.id for w in await catalog.next_unpublished(tenant, limit=10)}
    in_queue = [s.job for s in submissions if s.job.id not in waiting]
    counting = catalog.count_in_flight
    calls = 0

    async def slow_count(tenant_id: TenantId) -> int:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.05)
        return await counting(tenant_id)

    catalog.count_in_flight = slow_count  # type: ignore[method-assign]
    # Both queued jobs finish; three dispatch requests arrive while the first one runs.
    for job in in_queue:
        await catalog.apply_job_status(
            tenant, job.id, JobStatus.INDEXED, chunk_count=1, reason=None
        )
    running = asyncio.create_task(dispatcher.dispatch(tenant))
    await asyncio.sleep(0.01)
    assert [await dispatcher.dispatch(tenant) for _ in range(3)] == [0, 0, 0]
    assert await running == 2
    # One round for the first request and one more for all three later ones, not four.
    assert calls == 2
    assert await broker.queue_depth(QueueName.INGESTION) == 4


class CountingCatalog(SqlCatalog):
    """The SQLite catalog, counting the dispatch rounds (each reads the window first)."""

    rounds = 0

    async def count_in_flight(self, tenant_id: TenantId) -> int:
        self.rounds += 1
        return await super().count_in_flight(tenant_id)


async def test_the_finished_jobs_of_one_batch_are_dispatched_in_one_round(
    tmp_path: Path, broker: MemoryBroker
) -> None:
    catalog = CountingCatalog(f"sqlite+aiosqlite:///{tmp_path / 'rounds.db'}", pool_size=1)
    await catalog.open()
    try:
        dispatcher = JobDispatcher(catalog, broker, window=3)
        tenant = (await catalog.create_tenant("busy")).id
        jobs = [
            (await submit_upload(catalog, dispatcher, tenant, _draft(i), b"%d" % i)).job
            for i in range(6)
        ]
        for job in jobs[:3]:
            await catalog.apply_job_status(
                tenant, job.id, JobStatus.INDEXED, chunk_count=1, reason=None
            )
        catalog.rounds = 0

        # The handlers of one status batch ask together, once its changes are committed.
        sent = await asyncio.gather(*(dispatcher.dispatch(tenant) for _ in range(3)))

        assert sorted(sent) == [0, 0, 3]
        assert catalog.rounds == 1
        assert await catalog.count_in_flight(tenant) == 3
    finally:
        await catalog.close()
