"""The index model registry and the reindex queue on SQL (migration 0009, ADR 0018).

Every change of index states locks the ``active`` row first (``SELECT ... FOR UPDATE`` on
PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` serialises writers anyway), so two replicas starting,
switching or dropping at once take turns and the states stay consistent: one ``active``, at most
one ``building``. Settling a task and the switch it may complete are one transaction, so reads
switch exactly once, whichever replica applies the last event.
"""

from __future__ import annotations

from sqlalchemy import RowMapping, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from ragline_common.errors import Conflict, NotFound
from ragline_common.ids import new_id
from ragline_common.tenancy import TenantId
from ragline_gateway.adapters.catalog.connections import UNFINISHED, Connections, first, now
from ragline_gateway.adapters.catalog.tables import documents, index_models, jobs, reindex_tasks
from ragline_gateway.ports.catalog.index_models import (
    IndexModelRecord,
    IndexModelState,
    ReindexTask,
)

_INSERT_BATCH = 500
_REASON_CHARS = 1000


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


def _task(row: RowMapping) -> ReindexTask:
    return ReindexTask(
        id=row["id"],
        spec=row["spec"],
        tenant_id=TenantId(row["tenant_id"]),
        document_id=row["document_id"],
        version=row["version"],
    )


async def _locked(connection: AsyncConnection, spec: str) -> IndexModelRecord | None:
    row = await first(
        connection, select(index_models).where(index_models.c.spec == spec).with_for_update()
    )
    return _record(row) if row is not None else None


async def _lock_active(connection: AsyncConnection) -> IndexModelRecord | None:
    """The active row, locked: every state change takes this lock first (see the module)."""
    row = await first(
        connection,
        select(index_models).where(index_models.c.state == "active").with_for_update(),
    )
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
            rows = (
                await connection.execute(
                    select(index_models).order_by(index_models.c.created_at, index_models.c.spec)
                )
            ).mappings()
            return [_record(row) for row in rows]

    async def get_index_model(self, spec: str) -> IndexModelRecord | None:
        async with self._connections.reading() as connection:
            row = await first(connection, select(index_models).where(index_models.c.spec == spec))
        return _record(row) if row is not None else None

    async def start_reindex(self, spec: str, *, default_spec: str) -> IndexModelRecord:
        await self.active_index_model(default_spec)
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
            existing = await _locked(connection, spec)
            started = now()
            fields = {
                "state": "building",
                "created_at": started,
                "activated_at": None,
                "total": 0,
                "done": 0,
                "failed": 0,
                "error": None,
            }
            if existing is None:
                await connection.execute(insert(index_models).values(spec=spec, **fields))
            else:
                await connection.execute(delete(reindex_tasks).where(reindex_tasks.c.spec == spec))
                await connection.execute(
                    update(index_models).where(index_models.c.spec == spec).values(**fields)
                )
            total = await self._enqueue_live_versions(connection, spec)
            await connection.execute(
                update(index_models).where(index_models.c.spec == spec).values(total=total)
            )
            record = await _locked(connection, spec)
            if record is not None and total == 0:
                # Nothing to re-embed (an empty catalog): complete at once, switch at once.
                await _switch(connection, spec)
                record = await _locked(connection, spec)
        assert record is not None  # written in this very transaction
        return record

    async def _enqueue_live_versions(self, connection: AsyncConnection, spec: str) -> int:
        latest_job = jobs.c.document_id == documents.c.id
        rows = await connection.execute(
            select(
                documents.c.id,
                documents.c.tenant_id,
                documents.c.version,
                documents.c.indexed_version,
                jobs.c.status,
            )
            .select_from(
                documents.outerjoin(jobs, latest_job & (jobs.c.version == documents.c.version))
            )
            .where(documents.c.deleted_at.is_(None))
            .order_by(documents.c.tenant_id, documents.c.created_at, documents.c.id)
        )
        created = now()
        batch: list[dict[str, object]] = []
        total = 0
        for row in rows:
            versions = [] if row.indexed_version is None else [row.indexed_version]
            if row.version != row.indexed_version and row.status in UNFINISHED:
                versions.append(row.version)
            for version in versions:
                batch.append(
                    {
                        "id": new_id("rix"),
                        "spec": spec,
                        "tenant_id": row.tenant_id,
                        "document_id": row.id,
                        "version": version,
                        "state": "queued",
                        "reason": None,
                        "created_at": created,
                    }
                )
            if len(batch) >= _INSERT_BATCH:
                total += await self._insert_tasks(connection, batch)
                batch = []
        return total + await self._insert_tasks(connection, batch)

    @staticmethod
    async def _insert_tasks(connection: AsyncConnection, batch: list[dict[str, object]]) -> int:
        if batch:
            await connection.execute(insert(reindex_tasks), batch)
        return len(batch)

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
            rows = (
                await connection.execute(
                    select(reindex_tasks)
                    .join(index_models, index_models.c.spec == reindex_tasks.c.spec)
                    .where(
                        reindex_tasks.c.tenant_id == tenant_id,
                        reindex_tasks.c.state == "queued",
                        index_models.c.state == "building",
                    )
                    .order_by(reindex_tasks.c.created_at, reindex_tasks.c.id)
                    .limit(limit)
                )
            ).mappings()
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
        async with self._connections.writing() as connection:
            await connection.execute(
                update(reindex_tasks)
                .where(
                    reindex_tasks.c.tenant_id == tenant_id,
                    reindex_tasks.c.id == task_id,
                    reindex_tasks.c.state == "queued",
                )
                .values(state="published")
            )

    async def count_reindex_in_flight(self, tenant_id: TenantId) -> int:
        async with self._connections.reading() as connection:
            count: int = (
                await connection.execute(
                    select(func.count())
                    .select_from(reindex_tasks)
                    .where(
                        reindex_tasks.c.tenant_id == tenant_id,
                        reindex_tasks.c.state == "published",
                    )
                )
            ).scalar_one()
        return count

    async def finish_reindex_task(
        self, tenant_id: TenantId, task_id: str, *, failed: bool, reason: str | None
    ) -> IndexModelRecord | None:
        async with self._connections.writing() as connection:
            await _lock_active(connection)
            task = await first(
                connection,
                select(reindex_tasks)
                .where(reindex_tasks.c.tenant_id == tenant_id, reindex_tasks.c.id == task_id)
                .with_for_update(),
            )
            if task is None or task["state"] in ("done", "failed"):
                return None
            short = reason[:_REASON_CHARS] if reason else None
            await connection.execute(
                update(reindex_tasks)
                .where(reindex_tasks.c.id == task_id)
                .values(state="failed" if failed else "done", reason=short)
            )
            spec = task["spec"]
            counters = (
                {"failed": index_models.c.failed + 1, "error": short}
                if failed
                else {"done": index_models.c.done + 1}
            )
            await connection.execute(
                update(index_models).where(index_models.c.spec == spec).values(**counters)
            )
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
