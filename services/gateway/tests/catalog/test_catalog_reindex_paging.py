"""Starting a reindex enumerates the catalog a page per transaction (SQLite and PostgreSQL).

Uploads, deletes and drops happen between pages here, through a wrapper around one page's
transaction: nothing is lost, nothing is counted twice, and reads cannot switch before the last
page is in.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import datetime

import pytest
from catalog_harness import new_tenant, submit

from ragline_common.messages import JobStatus
from ragline_common.tenancy import TenantId
from ragline_gateway.adapters.catalog import SqlCatalog, reindex_enumeration
from ragline_gateway.adapters.catalog.index_models import SqlIndexModels
from ragline_gateway.adapters.catalog.reindex_enumeration import Position
from ragline_gateway.ports.catalog import ReindexTask

PageFn = Callable[
    [SqlIndexModels, str, datetime, Position | None], Awaitable[tuple[bool, Position | None]]
]


async def _indexed(catalog: SqlCatalog, tenant: TenantId, content: bytes) -> str:
    submission = await submit(catalog, tenant, content)
    await catalog.apply_job_status(
        submission.job.tenant_id, submission.job.id, JobStatus.INDEXED, chunk_count=1, reason=None
    )
    document_id: str = submission.document.id
    return document_id


async def _tasks(catalog: SqlCatalog, *tenants: TenantId) -> list[ReindexTask]:
    return [task for t in tenants for task in await catalog.next_reindex_tasks(t, limit=1000)]


def _between_pages(
    monkeypatch: pytest.MonkeyPatch, after_page: Callable[[int], Awaitable[None]]
) -> None:
    """Run ``after_page(n)`` after the n-th page's transaction committed, before the next."""
    original: PageFn = SqlIndexModels._enqueue_next_page
    pages = 0

    async def paged(
        self: SqlIndexModels, spec: str, started: datetime, after: Position | None
    ) -> tuple[bool, Position | None]:
        nonlocal pages
        result = await original(self, spec, started, after)
        pages += 1
        await after_page(pages)
        return result

    monkeypatch.setattr(SqlIndexModels, "_enqueue_next_page", paged)


async def test_pages_enqueue_every_live_version_once(
    catalog: SqlCatalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reindex_enumeration, "PAGE", 2)
    acme, globex = await new_tenant(catalog, "acme"), await new_tenant(catalog, "globex")
    documents = [await _indexed(catalog, acme, f"a{i}".encode()) for i in range(5)]
    documents += [await _indexed(catalog, globex, f"g{i}".encode()) for i in range(4)]
    pages: list[int] = []

    async def count(page: int) -> None:
        pages.append(page)

    _between_pages(monkeypatch, count)
    started = await catalog.start_reindex("onnx-int8", default_spec="hash")

    assert len(pages) == 5  # 9 documents, 2 a page: the fifth page is short
    tasks = await _tasks(catalog, acme, globex)
    assert sorted(task.document_id for task in tasks) == sorted(documents)
    assert (started.state, started.total) == ("building", 9)


async def test_uploads_and_deletes_between_pages_are_neither_lost_nor_counted_twice(
    catalog: SqlCatalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reindex_enumeration, "PAGE", 2)
    acme = await new_tenant(catalog, "acme")
    documents = [await _indexed(catalog, acme, f"doc {i}".encode()) for i in range(6)]
    seen: dict[str, str] = {}

    async def meanwhile(page: int) -> None:
        if page != 1:
            return
        # The index is building before the first page: a fresh read of the write targets
        # (what dispatch does after recording a version) names it for every upload from here.
        states = {row.spec: row.state for row in await catalog.list_index_models()}
        assert states == {"hash": "active", "onnx-int8": "building"}
        enumerated = {task.document_id for task in await _tasks(catalog, acme)}
        assert len(enumerated) == 2
        later = sorted(set(documents) - enumerated)
        seen["deleted_before"] = later[0]
        seen["deleted_after"] = sorted(enumerated)[0]
        await catalog.delete_document(acme, seen["deleted_before"])
        await catalog.delete_document(acme, seen["deleted_after"])
        seen["uploaded"] = (await submit(catalog, acme, b"uploaded meanwhile")).document.id

    _between_pages(monkeypatch, meanwhile)
    started = await catalog.start_reindex("onnx-int8", default_spec="hash")

    tasks = await _tasks(catalog, acme)
    per_version = Counter((task.document_id, task.version) for task in tasks)
    assert max(per_version.values()) == 1  # nothing twice
    ids = {task.document_id for task in tasks}
    # Deleted before its page: never enqueued. Deleted after: a task, settled empty at dispatch.
    assert seen["deleted_before"] not in ids
    assert seen["deleted_after"] in ids
    assert set(documents) - {seen["deleted_before"]} <= ids  # nothing lost
    # The upload is written to the building index by its own job; a page may also meet it.
    assert ids <= set(documents) | {seen["uploaded"]}
    assert started.total == len(tasks)


async def test_reads_cannot_switch_before_the_last_page_is_in(
    catalog: SqlCatalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reindex_enumeration, "PAGE", 1)
    acme = await new_tenant(catalog, "acme")
    for i in range(3):
        await _indexed(catalog, acme, f"doc {i}".encode())

    async def settle_everything_so_far(page: int) -> None:
        for task in await _tasks(catalog, acme):
            await catalog.mark_reindex_task_published(acme, task.id)
            record = await catalog.finish_reindex_task(acme, task.id, failed=False, reason=None)
            assert record is not None and record.state == "building", record
        assert await catalog.active_index_model("hash") == "hash"

    _between_pages(monkeypatch, settle_everything_so_far)
    started = await catalog.start_reindex("onnx-int8", default_spec="hash")

    # Every task finished during the enumeration: its end switches reads at once.
    assert (started.state, started.total, started.done) == ("active", 3, 3)
    assert await catalog.active_index_model("hash") == "onnx-int8"


async def test_a_drop_between_pages_stops_the_enumeration(
    catalog: SqlCatalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reindex_enumeration, "PAGE", 1)
    acme = await new_tenant(catalog, "acme")
    for i in range(4):
        await _indexed(catalog, acme, f"doc {i}".encode())
    pages: list[int] = []

    async def drop(page: int) -> None:
        pages.append(page)
        if page == 1:
            await catalog.begin_drop("onnx-int8")
            await catalog.finish_drop("onnx-int8")

    _between_pages(monkeypatch, drop)
    record = await catalog.start_reindex("onnx-int8", default_spec="hash")

    assert record.state == "dropped"
    assert pages == [1, 2]  # the second page saw the drop and enqueued nothing
    assert await catalog.tenants_with_reindex_tasks(limit=10) == []
    # A new reindex of the same spec starts afresh, every document once.
    again = await catalog.start_reindex("onnx-int8", default_spec="hash")
    assert (again.state, again.total, again.done) == ("building", 4, 0)
