"""Index models and reindex tasks (migration 0009), the same suite on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest
from catalog_harness import new_tenant, submit

from ragline_common.errors import Conflict, NotFound
from ragline_common.messages import JobStatus
from ragline_common.tenancy import TenantId
from ragline_gateway.adapters.catalog import SqlCatalog


async def _indexed(catalog: SqlCatalog, tenant: TenantId, content: bytes) -> str:
    submission = await submit(catalog, tenant, content)
    await catalog.apply_job_status(
        submission.job.tenant_id, submission.job.id, JobStatus.INDEXED, chunk_count=1, reason=None
    )
    document_id: str = submission.document.id
    return document_id


async def test_the_default_is_seeded_active_on_first_use(catalog: SqlCatalog) -> None:
    assert await catalog.list_index_models() == []

    assert await catalog.active_index_model("hash") == "hash"
    # Seeded once: a later default (another process's settings) does not switch reads.
    assert await catalog.active_index_model("onnx-int8") == "hash"
    [row] = await catalog.list_index_models()
    assert (row.spec, row.state, row.total, row.percent) == ("hash", "active", 0, 100.0)


async def test_a_reindex_enqueues_live_versions_and_switches_when_every_task_is_done(
    catalog: SqlCatalog,
) -> None:
    acme, globex = await new_tenant(catalog, "acme"), await new_tenant(catalog, "globex")
    await _indexed(catalog, acme, b"one")
    await _indexed(catalog, acme, b"two")
    await _indexed(catalog, globex, b"three")
    gone = await _indexed(catalog, globex, b"deleted")
    await catalog.delete_document(globex, gone)
    await submit(catalog, globex, b"not indexed yet")  # unfinished: its version counts too

    started = await catalog.start_reindex("onnx-int8", default_spec="hash")

    assert (started.state, started.total, started.done) == ("building", 4, 0)
    assert set(await catalog.tenants_with_reindex_tasks(limit=10)) == {acme, globex}
    tasks = await catalog.next_reindex_tasks(acme, limit=10)
    assert len(tasks) == 2 and {task.spec for task in tasks} == {"onnx-int8"}
    for task in tasks:
        await catalog.mark_reindex_task_published(acme, task.id)
    assert await catalog.count_reindex_in_flight(acme) == 2
    assert await catalog.next_reindex_tasks(acme, limit=10) == []
    assert await catalog.active_index_model("hash") == "hash"

    progress = await catalog.finish_reindex_task(acme, tasks[0].id, failed=False, reason=None)
    assert progress is not None and (progress.done, progress.percent) == (1, 25.0)
    # A redelivered event counts once.
    assert await catalog.finish_reindex_task(acme, tasks[0].id, failed=False, reason=None) is None
    # Another tenant cannot settle acme's task.
    assert await catalog.finish_reindex_task(globex, tasks[1].id, failed=False, reason=None) is None

    remaining = [tasks[1]] + await catalog.next_reindex_tasks(globex, limit=10)
    for task in remaining:
        last = await catalog.finish_reindex_task(task.tenant_id, task.id, failed=False, reason=None)

    assert last is not None and (last.state, last.done, last.percent) == ("active", 4, 100.0)
    assert await catalog.active_index_model("hash") == "onnx-int8"
    states = {row.spec: row.state for row in await catalog.list_index_models()}
    assert states == {"hash": "previous", "onnx-int8": "active"}


async def test_a_failed_task_holds_the_switch_until_the_operator_activates(
    catalog: SqlCatalog,
) -> None:
    acme = await new_tenant(catalog)
    await _indexed(catalog, acme, b"one")
    await catalog.start_reindex("onnx-int8", default_spec="hash")
    [task] = await catalog.next_reindex_tasks(acme, limit=10)

    with pytest.raises(Conflict) as early:
        await catalog.activate_index_model("onnx-int8")
    assert early.value.code == "reindex_in_progress"

    record = await catalog.finish_reindex_task(acme, task.id, failed=True, reason="parse error")

    assert record is not None and (record.state, record.failed, record.error) == (
        "building",
        1,
        "parse error",
    )
    assert await catalog.active_index_model("hash") == "hash"
    forced = await catalog.activate_index_model("onnx-int8")
    assert forced.state == "active"
    assert await catalog.active_index_model("hash") == "onnx-int8"


async def test_refusals_have_stable_codes(catalog: SqlCatalog) -> None:
    acme = await new_tenant(catalog)
    await _indexed(catalog, acme, b"one")

    with pytest.raises(Conflict) as active:
        await catalog.start_reindex("hash", default_spec="hash")
    assert active.value.code == "index_model_active"
    await catalog.start_reindex("onnx-int8", default_spec="hash")
    with pytest.raises(Conflict) as busy:
        await catalog.start_reindex("torch", default_spec="hash")
    assert busy.value.code == "reindex_in_progress"
    with pytest.raises(NotFound) as missing:
        await catalog.activate_index_model("openai")
    assert missing.value.code == "index_model_not_found"
    with pytest.raises(Conflict) as drop_active:
        await catalog.begin_drop("hash")
    assert drop_active.value.code == "index_model_active"


async def test_switch_back_then_drop_then_no_way_back(catalog: SqlCatalog) -> None:
    # An empty catalog completes a reindex at once.
    started = await catalog.start_reindex("onnx-int8", default_spec="hash")
    assert (started.state, started.total) == ("active", 0)

    back = await catalog.activate_index_model("hash")
    assert back.state == "active"
    assert await catalog.active_index_model("hash") == "hash"

    dropping = await catalog.begin_drop("onnx-int8")
    assert dropping.state == "dropping"
    await catalog.finish_drop("onnx-int8")
    dropped = await catalog.get_index_model("onnx-int8")
    assert dropped is not None and dropped.state == "dropped"
    with pytest.raises(Conflict) as refused:
        await catalog.activate_index_model("onnx-int8")
    assert refused.value.code == "index_model_dropped"

    # A dropped spec can be built again from scratch.
    again = await catalog.start_reindex("onnx-int8", default_spec="hash")
    assert again.state == "active"


async def test_dropping_a_building_index_stops_its_dispatch(catalog: SqlCatalog) -> None:
    acme = await new_tenant(catalog)
    await _indexed(catalog, acme, b"one")
    await _indexed(catalog, acme, b"two")
    await catalog.start_reindex("onnx-int8", default_spec="hash")
    [published, _] = await catalog.next_reindex_tasks(acme, limit=10)
    await catalog.mark_reindex_task_published(acme, published.id)

    await catalog.begin_drop("onnx-int8")

    assert await catalog.next_reindex_tasks(acme, limit=10) == []
    assert await catalog.tenants_with_reindex_tasks(limit=10) == []
    # The one in the broker still settles without reviving the index.
    record = await catalog.finish_reindex_task(acme, published.id, failed=False, reason=None)
    assert record is not None and record.state == "dropping"


async def test_published_tasks_go_out_again_after_a_reset(catalog: SqlCatalog) -> None:
    acme = await new_tenant(catalog)
    await _indexed(catalog, acme, b"one")
    await catalog.start_reindex("onnx-int8", default_spec="hash")
    [task] = await catalog.next_reindex_tasks(acme, limit=10)
    await catalog.mark_reindex_task_published(acme, task.id)

    assert await catalog.reset_reindex_publication() == 1

    assert [t.id for t in await catalog.next_reindex_tasks(acme, limit=10)] == [task.id]
    assert await catalog.count_reindex_in_flight(acme) == 0


async def test_replicas_starting_reindexes_at_once_take_turns(catalog: SqlCatalog) -> None:
    acme = await new_tenant(catalog)
    await _indexed(catalog, acme, b"one")

    outcomes = await asyncio.gather(
        *(catalog.start_reindex(spec, default_spec="hash") for spec in ("onnx-int8", "torch")),
        return_exceptions=True,
    )

    started = [o for o in outcomes if not isinstance(o, BaseException)]
    refused = [o for o in outcomes if isinstance(o, Conflict)]
    assert len(started) == 1 and len(refused) == 1, outcomes
    assert refused[0].code == "reindex_in_progress"
    states = sorted(row.state for row in await catalog.list_index_models())
    assert states == ["active", "building"]
    assert len(await catalog.next_reindex_tasks(acme, limit=10)) == 1
