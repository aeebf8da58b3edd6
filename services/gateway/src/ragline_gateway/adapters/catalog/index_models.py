"""The index model registry and the reindex queue on SQL (migration 0009, ADR 0018).

Every change of index states locks the ``active`` row first (``SELECT ... FOR UPDATE`` on
PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` serialises writers anyway), so two replicas starting,
switching or dropping at once take turns and the states stay consistent: one ``active``, at most
one ``building``. Settling a task and the switch it may complete are one transaction, so reads
switch exactly once, whichever replica applies the last event.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, RowMapping, bindparam, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from ragline_common.errors import Conflict, NotFound
from ragline_common.tenancy import TenantId
from ragline_gateway.adapters.catalog.connections import (
    Connections,
    first,
    now,
    single_statement,
)
from ragline_gateway.adapters.catalog.reindex_enumeration import (
    PLACEHOLDER,
    Position,
    enqueue_page,
    refuse_shared_collection,
)
from ragline_gateway.adapters.catalog.tables import index_models, reindex_tasks
from ragline_gateway.ports.catalog.index_models import (
    IndexModelRecord,
    IndexModelState,
    ReindexTask,
)

_REASON_CHARS = 1000

# What every dispatch and every reindex task's event run, built once with bind parameters
# (building a statement and its cache key per call cost ~150 us of gateway CPU, see
# ``dispatch_queue``): the index states (read afresh by every dispatch), and a task's dispatch
# and settlement while a reindex runs.
_LIST = select(index_models).order_by(index_models.c.created_at, index_models.c.spec)
_SPEC = bindparam("i_spec", type_=index_models.c.spec.type)
_TENANT = bindparam("i_tenant", type_=reindex_tasks.c.tenant_id.type)
_TASK = bindparam("i_task", type_=reindex_tasks.c.id.type)
_LOCK_SPEC = select(index_models).where(index_models.c.spec == _SPEC).with_for_update()
_LOCK_ACTIVE = select(index_models).where(index_models.c.state == "active").with_for_update()
_NEXT_TASKS = (
    select(reindex_tasks)
    .join(index_models, index_models.c.spec == reindex_tasks.c.spec)
    .where(
        reindex_tasks.c.tenant_id == _TENANT,
        reindex_tasks.c.state == "queued",
        index_models.c.state == "building",
    )
    .order_by(reindex_tasks.c.created_at, reindex_tasks.c.id)
    .limit(bindparam("i_limit", type_=Integer()))
)
_MARK_TASK_PUBLISHED = (
    update(reindex_tasks)
    .where(
        reindex_tasks.c.tenant_id == _TENANT,
        reindex_tasks.c.id == _TASK,
        reindex_tasks.c.state == "queued",
    )
    .values(state="published")
)
_TASKS_IN_FLIGHT = (
    select(func.count())
    .select_from(reindex_tasks)
    .where(reindex_tasks.c.tenant_id == _TENANT, reindex_tasks.c.state == "published")
)
_LOCK_TASK = (
    select(reindex_tasks)
    .where(reindex_tasks.c.tenant_id == _TENANT, reindex_tasks.c.id == _TASK)
    .with_for_update()
)
_SETTLE_TASK = (
    update(reindex_tasks)
    .where(reindex_tasks.c.id == _TASK)
    .values(state=bindparam("i_state"), reason=bindparam("i_reason"))
)
_COUNT_DONE = (
    update(index_models).where(index_models.c.spec == _SPEC).values(done=index_models.c.done + 1)
)
_COUNT_FAILED = (
    update(index_models)
    .where(index_models.c.spec == _SPEC)
    .values(failed=index_models.c.failed + 1, error=bindparam("i_reason"))
)


def _record(row: RowMapping) -> IndexModelRecord:
    state: IndexModelState = row["state"]
    return IndexModelRecord(
        spec=row["spec"],
        state=state,
        created_at=row["created_at"],
        activated_at=row["activated_at"],
        total=row["total"],
        done=row["done"],
        failed=row["failed"],
        error=row["error"],
    )


def _same_run(record: IndexModelRecord | None, started: datetime) -> bool:
    """The index is still building in the reindex that started at ``started``."""
    return record is not None and record.state == "building" and record.created_at == started


def _task(row: RowMapping) -> ReindexTask:
    return ReindexTask(
        id=row["id"],
        spec=row["spec"],
        tenant_id=TenantId(row["tenant_id"]),
        document_id=row["document_id"],
        version=row["version"],
    )


async def _locked(connection: AsyncConnection, spec: str) -> IndexModelRecord | None:
    row = await first(connection, _LOCK_SPEC, {"i_spec": spec})
    return _record(row) if row is not None else None


async def _lock_active(connection: AsyncConnection) -> IndexModelRecord | None:
    """The active row, locked: every state change takes this lock first (see the module)."""
    row = await first(connection, _LOCK_ACTIVE)
    return _record(row) if row is not None else None


async def _switch(connection: AsyncConnection, spec: str) -> None:
    """Reads move to ``spec``; the index they used becomes ``previous``."""
    await connection.execute(
        update(index_models)
        .where(index_models.c.state == "active", index_models.c.spec != spec)
        .values(state="previous")
    )
    await connection.execute(
        update(index_models)
        .where(index_models.c.spec == spec)
        .values(state="active", activated_at=now())
    )


class SqlIndexModels:
    """:class:`IndexModelRegistry` and :class:`ReindexQueue` on the catalog database."""

    def __init__(self, connections: Connections) -> None:
        self._connections = connections

    # registry

    async def active_index_model(self, default_spec: str) -> str:
        async with self._connections.reading() as connection:
            row = await first(
                connection, select(index_models.c.spec).where(index_models.c.state == "active")
            )
        if row is not None:
            return str(row["spec"])
        await self._seed(default_spec)
        return await self.active_index_model(default_spec)

    async def _seed(self, default_spec: str) -> None:
        """Record the configured default as the active index (first use of the catalog)."""
        try:
            async with self._connections.writing() as connection:
                if await _lock_active(connection) is not None:
                    return
                if await _locked(connection, default_spec) is None:
                    await connection.execute(
                        insert(index_models).values(
                            spec=default_spec,
                            state="active",
                            created_at=now(),
                            activated_at=now(),
                            total=0,
                            done=0,
                            failed=0,
                            error=None,
                        )
                    )
                else:
                    await _switch(connection, default_spec)
        except IntegrityError:
            pass  # another replica seeded it a moment ago

    async def list_index_models(self) -> list[IndexModelRecord]:
        async with self._connections.reading() as connection:
            rows = (await connection.execute(_LIST)).mappings()
            return [_record(row) for row in rows]

    async def get_index_model(self, spec: str) -> IndexModelRecord | None:
        async with self._connections.reading() as connection:
            row = await first(connection, select(index_models).where(index_models.c.spec == spec))
        return _record(row) if row is not None else None

    async def start_reindex(self, spec: str, *, default_spec: str) -> IndexModelRecord:
        """Mark ``spec`` building, then enqueue its tasks a page per transaction (see
        :mod:`.reindex_enumeration` for why nothing is lost or counted twice meanwhile)."""
        await self.active_index_model(default_spec)
        started = await self._begin_reindex(spec)
        after: Position | None = None
        while True:
            still_building, after = await self._enqueue_next_page(spec, started, after)
            if not still_building:
                break  # dropped (and maybe restarted) meanwhile: this run stops here
            if after is None:
                return await self._end_enumeration(spec, started)
        record = await self.get_index_model(spec)
        assert record is not None  # rows are never deleted
        return record

    async def _enqueue_next_page(
        self, spec: str, started: datetime, after: Position | None
    ) -> tuple[bool, Position | None]:
        """One page of the enumeration, one short transaction: (still this run, next page)."""
        async with self._connections.writing() as connection:
            # Same lock order as settling a task: the active row, then this one.
            await _lock_active(connection)
            if not _same_run(await _locked(connection, spec), started):
                return False, None
            count, after = await enqueue_page(connection, spec, created=started, after=after)
            await connection.execute(
                update(index_models)
                .where(index_models.c.spec == spec)
                .values(total=index_models.c.total + count)
            )
        return True, after

    async def _begin_reindex(self, spec: str) -> datetime:
        """Refuse or mark ``spec`` building, its total holding the enumeration's placeholder;
        returns the run's ``created_at``, which later pages check they still belong to."""
        async with self._connections.writing() as connection:
            active = await _lock_active(connection)
            if active is not None and active.spec == spec:
                raise Conflict(f"{spec} is already the active index.", code="index_model_active")
            building = await first(
                connection, select(index_models.c.spec).where(index_models.c.state == "building")
            )
            if building is not None:
                raise Conflict(
                    f"A reindex to {building['spec']} is in progress; wait for it, or drop it.",
                    code="reindex_in_progress",
                )
            await refuse_shared_collection(connection, spec)
            fields = {
                "state": "building",
                "created_at": now(),
                "activated_at": None,
                "total": PLACEHOLDER,
                "done": 0,
                "failed": 0,
                "error": None,
            }
            if await _locked(connection, spec) is None:
                await connection.execute(insert(index_models).values(spec=spec, **fields))
            else:
                await connection.execute(delete(reindex_tasks).where(reindex_tasks.c.spec == spec))
                await connection.execute(
                    update(index_models).where(index_models.c.spec == spec).values(**fields)
                )
            record = await _locked(connection, spec)
        assert record is not None  # written in this very transaction
        return record.created_at

    async def _end_enumeration(self, spec: str, started: datetime) -> IndexModelRecord:
        """Every page is in: remove the placeholder, and switch reads if every task is done
        already (or there was none: an empty catalog)."""
        async with self._connections.writing() as connection:
            await _lock_active(connection)
            record = await _locked(connection, spec)
            if record is not None and _same_run(record, started):
                await connection.execute(
                    update(index_models)
                    .where(index_models.c.spec == spec)
                    .values(total=index_models.c.total - PLACEHOLDER)
                )
                record = await _locked(connection, spec)
                if record is not None and record.complete and record.failed == 0:
                    await _switch(connection, spec)
                    record = await _locked(connection, spec)
        assert record is not None
        return record

    async def activate_index_model(self, spec: str) -> IndexModelRecord:
        async with self._connections.writing() as connection:
            await _lock_active(connection)
            target = await _locked(connection, spec)
            if target is None:
                raise NotFound(f"No index for {spec}.", code="index_model_not_found")
            match target.state:
                case "active":
                    raise Conflict(f"{spec} is already active.", code="index_model_active")
                case "dropping" | "dropped" | "failed":
                    raise Conflict(
                        f"The index of {spec} was dropped; reindex to use it again.",
                        code="index_model_dropped",
                    )
                case "building" if not target.complete:
                    raise Conflict(
                        f"The reindex to {spec} is at {target.percent}%; activate it when done.",
                        code="reindex_in_progress",
                    )
            await _switch(connection, spec)
            record = await _locked(connection, spec)
        assert record is not None
        return record

    async def begin_drop(self, spec: str) -> IndexModelRecord:
        async with self._connections.writing() as connection:
            await _lock_active(connection)
            target = await _locked(connection, spec)
            if target is None:
                raise NotFound(f"No index for {spec}.", code="index_model_not_found")
            if target.state == "active":
                raise Conflict(
                    f"{spec} is the active index: activate another one first.",
                    code="index_model_active",
                )
            await connection.execute(
                delete(reindex_tasks).where(
                    reindex_tasks.c.spec == spec, reindex_tasks.c.state == "queued"
                )
            )
            if target.state != "dropped":
                await connection.execute(
                    update(index_models).where(index_models.c.spec == spec).values(state="dropping")
                )
            record = await _locked(connection, spec)
        assert record is not None
        return record

    async def finish_drop(self, spec: str) -> None:
        async with self._connections.writing() as connection:
            await connection.execute(
                update(index_models)
                .where(index_models.c.spec == spec, index_models.c.state == "dropping")
                .values(state="dropped")
            )

    # reindex queue

    async def next_reindex_tasks(self, tenant_id: TenantId, *, limit: int) -> list[ReindexTask]:
        async with self._connections.reading() as connection:
            parameters = {"i_tenant": tenant_id, "i_limit": limit}
            rows = (await connection.execute(_NEXT_TASKS, parameters)).mappings()
            return [_task(row) for row in rows]

    async def tenants_with_reindex_tasks(self, *, limit: int) -> list[TenantId]:
        async with self._connections.reading() as connection:
            rows = await connection.execute(
                select(reindex_tasks.c.tenant_id)
                .join(index_models, index_models.c.spec == reindex_tasks.c.spec)
                .where(reindex_tasks.c.state == "queued", index_models.c.state == "building")
                .group_by(reindex_tasks.c.tenant_id)
                .order_by(func.min(reindex_tasks.c.created_at))
                .limit(limit)
            )
            return [TenantId(row.tenant_id) for row in rows]

    async def mark_reindex_task_published(self, tenant_id: TenantId, task_id: str) -> None:
        async with single_statement(self._connections) as connection:
            await connection.execute(
                _MARK_TASK_PUBLISHED, {"i_tenant": tenant_id, "i_task": task_id}
            )

    async def count_reindex_in_flight(self, tenant_id: TenantId) -> int:
        async with self._connections.reading() as connection:
            count: int = (
                await connection.execute(_TASKS_IN_FLIGHT, {"i_tenant": tenant_id})
            ).scalar_one()
        return count

    async def finish_reindex_task(
        self, tenant_id: TenantId, task_id: str, *, failed: bool, reason: str | None
    ) -> IndexModelRecord | None:
        async with self._connections.writing() as connection:
            await _lock_active(connection)
            task_key = {"i_tenant": tenant_id, "i_task": task_id}
            task = await first(connection, _LOCK_TASK, task_key)
            if task is None or task["state"] in ("done", "failed"):
                return None
            short = reason[:_REASON_CHARS] if reason else None
            state = "failed" if failed else "done"
            await connection.execute(
                _SETTLE_TASK, {**task_key, "i_state": state, "i_reason": short}
            )
            spec = task["spec"]
            counted = {"i_spec": spec, "i_reason": short} if failed else {"i_spec": spec}
            await connection.execute(_COUNT_FAILED if failed else _COUNT_DONE, counted)
            record = await _locked(connection, spec)
            if (
                record is not None
                and record.state == "building"
                and record.complete
                and record.failed == 0
            ):
                await _switch(connection, spec)
                record = await _locked(connection, spec)
        return record

    async def reset_reindex_publication(self) -> int:
        async with self._connections.writing() as connection:
            result = await connection.execute(
                update(reindex_tasks)
                .where(reindex_tasks.c.state == "published")
                .values(state="queued")
            )
        return int(result.rowcount or 0)
