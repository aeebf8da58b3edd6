"""Reindex tasks go through the fair dispatch: each tenant's window, shared with its uploads;
a parked task counts as failed."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from ragline_common.adapters.broker.memory import MemoryBroker
from ragline_common.messages import DocumentIngestRequested, Envelope, JobStatus, JobStatusChanged
from ragline_common.ports.broker import DeadLetter, Delivery
from ragline_common.tenancy import TenantId
from ragline_common.topology import ROUTING_INGEST, QueueName
from ragline_gateway.adapters.catalog import SqlCatalog
from ragline_gateway.consumers.reindex_events import ReindexDeadLetterHandler
from ragline_gateway.domain.dispatch import JobDispatcher
from ragline_gateway.domain.reindex import IndexModels
from ragline_gateway.domain.uploads import submit_upload
from ragline_gateway.ports.catalog import DocumentDraft

WINDOW = 2


class RecordingBroker(MemoryBroker):
    def __init__(self) -> None:
        super().__init__(close_timeout_s=1.0)
        self.sent: list[DocumentIngestRequested] = []

    async def publish(
        self, message: Envelope, *, routing_key: str, headers: Mapping[str, str] | None = None
    ) -> None:
        if isinstance(message, DocumentIngestRequested):
            self.sent.append(message)
        await super().publish(message, routing_key=routing_key, headers=headers)


def _draft(name: str) -> DocumentDraft:
    return DocumentDraft(
        title=name,
        source_name=f"{name}.txt",
        content_type="text/plain",
        content_hash=name,
        size_bytes=len(name),
        metadata={},
    )


async def _tenant_with_documents(
    catalog: SqlCatalog, dispatcher: JobDispatcher, name: str, count: int
) -> TenantId:
    tenant = (await catalog.create_tenant(name)).id
    for i in range(count):
        job = (await submit_upload(catalog, dispatcher, tenant, _draft(f"{name}{i}"), b"x")).job
        await catalog.apply_job_status(
            tenant, job.id, JobStatus.INDEXED, chunk_count=1, reason=None
        )
    return tenant


async def _finish(indexes: IndexModels, message: DocumentIngestRequested) -> None:
    await indexes.record_progress(
        JobStatusChanged(
            tenant_id=message.tenant_id,
            job_id=message.job_id,
            document_id=message.document_id,
            version=message.version,
            status=JobStatus.INDEXED,
            chunk_count=1,
            index_model=message.reindex_of,
        )
    )


async def test_reindex_tasks_interleave_across_tenants_and_uploads_go_first(
    catalog: SqlCatalog,
) -> None:
    broker = RecordingBroker()
    await broker.start()
    indexes = IndexModels(catalog, broker, default_spec="hash", ttl_s=0.0)
    dispatcher = JobDispatcher(catalog, broker, window=WINDOW, indexes=indexes)
    big = await _tenant_with_documents(catalog, dispatcher, "big", 8)
    small = await _tenant_with_documents(catalog, dispatcher, "small", 3)
    broker.sent.clear()

    await indexes.start("onnx-int8")
    await dispatcher.dispatch_all()

    # Each tenant has its window in the queue, no more: the small tenant is not behind the big.
    assert sorted(m.tenant_id for m in broker.sent) == sorted([big] * WINDOW + [small] * WINDOW)
    assert all(
        m.reindex_of == "onnx-int8" and m.index_models == ("onnx-int8",) for m in broker.sent
    )

    # An upload made now goes out before the tenant's remaining reindex tasks, to both indexes.
    upload = await submit_upload(catalog, dispatcher, big, _draft("new"), b"fresh")
    assert not (await catalog.get_job(big, upload.job.id)).published  # type: ignore[union-attr]
    done = 0
    while done < len(broker.sent):
        message = broker.sent[done]
        done += 1
        if message.reindex_of is not None:
            await _finish(indexes, message)
        else:
            await catalog.apply_job_status(
                message.tenant_id, message.job_id, JobStatus.INDEXED, chunk_count=1, reason=None
            )
        await dispatcher.dispatch(message.tenant_id)
        for tenant in (big, small):
            in_flight = await catalog.count_in_flight(tenant)
            assert in_flight + await catalog.count_reindex_in_flight(tenant) <= WINDOW

    uploads = [m for m in broker.sent if m.reindex_of is None]
    assert [m.job_id for m in uploads] == [upload.job.id]
    assert uploads[0].index_models == ("hash", "onnx-int8")
    big_tasks = [m for m in broker.sent if m.tenant_id == big and m.reindex_of is not None]
    assert broker.sent.index(uploads[0]) < broker.sent.index(big_tasks[WINDOW])
    assert len(broker.sent) == 8 + 3 + 1
    record = await catalog.get_index_model("onnx-int8")
    assert record is not None and (record.state, record.done, record.total) == ("active", 11, 11)
    # Once switched, uploads are written to the new active index (named first, the one the
    # worker bills) and the previous one.
    assert (await indexes.write_targets()).index_models == ("onnx-int8", "hash")
    assert await indexes.active() == "onnx-int8"
    await broker.close()


async def test_a_deleted_documents_task_is_settled_without_sending_it(catalog: SqlCatalog) -> None:
    broker = RecordingBroker()
    await broker.start()
    indexes = IndexModels(catalog, broker, default_spec="hash", ttl_s=0.0)
    dispatcher = JobDispatcher(catalog, broker, window=WINDOW, indexes=indexes)
    tenant = await _tenant_with_documents(catalog, dispatcher, "acme", 1)
    [document] = await catalog.list_documents(tenant, limit=10, offset=0)
    broker.sent.clear()
    await indexes.start("onnx-int8")

    await catalog.delete_document(tenant, document.id)
    assert await dispatcher.dispatch_all() == 0

    assert broker.sent == []
    assert await indexes.active() == "onnx-int8"
    await broker.close()


async def test_without_a_reindex_the_default_index_travels_unnamed(catalog: SqlCatalog) -> None:
    broker = RecordingBroker()
    await broker.start()
    indexes = IndexModels(catalog, broker, default_spec="hash", ttl_s=0.0)
    dispatcher = JobDispatcher(catalog, broker, window=WINDOW, indexes=indexes)

    await _tenant_with_documents(catalog, dispatcher, "acme", 1)

    assert [m.index_models for m in broker.sent] == [()]
    assert await indexes.kept() == ()
    await broker.close()


async def test_a_parked_reindex_task_counts_as_failed_and_frees_its_slot(
    catalog: SqlCatalog,
) -> None:
    broker = RecordingBroker()
    await broker.start()
    indexes = IndexModels(catalog, broker, default_spec="hash", ttl_s=0.0)
    dispatcher = JobDispatcher(catalog, broker, window=WINDOW, indexes=indexes)
    tenant = await _tenant_with_documents(catalog, dispatcher, "acme", 3)
    broker.sent.clear()
    await indexes.start("onnx-int8")
    await dispatcher.dispatch_all()
    task = broker.sent[0]
    passed_on: list[Delivery] = []

    async def dead_letters(delivery: Delivery) -> None:
        passed_on.append(delivery)

    handler = ReindexDeadLetterHandler(dead_letters, indexes, dispatcher)

    def parked(tenant_id: str) -> Delivery:
        letter = DeadLetter(
            id="evt_1",
            queue=QueueName.INGESTION,
            routing_key=ROUTING_INGEST,
            tenant_id=TenantId(tenant_id),
            reason="worker crashed",
            dead_lettered_at=datetime.now(UTC),
            body=task.model_dump_json().encode(),
        )
        return Delivery(
            body=letter.body, routing_key=ROUTING_INGEST, headers={}, dead_letter=letter
        )

    await handler(parked("someone-else"))  # a record that does not vouch: not believed
    record = await catalog.get_index_model("onnx-int8")
    assert record is not None and record.failed == 0

    await handler(parked(tenant))

    record = await catalog.get_index_model("onnx-int8")
    assert record is not None and (record.failed, record.error) == (
        1,
        "worker crashed (dead-lettered)",
    )
    assert passed_on == []
    # Its slot went to the tenant's last waiting task.
    assert len(broker.sent) == 3
    await broker.close()
