"""Reindexing without downtime (issue 15, ADR 0018): which index reads and writes use, and the
operator's start, switch and drop.

Reads use the *active* index. A replica keeps its answer for at most :data:`CACHE_TTL_S`, so a
switch is seen by every replica within a second, and each request asks once and uses that one
spec throughout (a search and its deeper second search, a question and its sources): results
never mix two models. Writes and deletions name every index not dropped: the active one, the
building one (an upload made during a reindex is in both when reads switch) and the previous
ones (a switch back finds every upload since, and no deleted document).

The switch itself happens in the catalog, in the transaction that settles a reindex's last task
(see ``ReindexQueue.finish_reindex_task``); the worker reports each task with ``index_model``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

import structlog

from ragline_common.errors import ValidationFailed
from ragline_common.indexing.model_spec import ModelSpec, UnknownIndexModel
from ragline_common.messages import (
    SYSTEM_TENANT_ID,
    IndexDropRequested,
    JobStatus,
    JobStatusChanged,
)
from ragline_common.ports.broker import Broker
from ragline_common.tenancy import TenantId
from ragline_common.topology import ROUTING_INDEX_DROP
from ragline_gateway.ports.catalog import (
    IndexModelRecord,
    IndexModelRegistry,
    ReindexQueue,
)

_log = structlog.get_logger(__name__)

CACHE_TTL_S = 1.0
"""How long a replica reuses what it read of the index states: the switch's delay, at most."""

_KEPT_STATES = frozenset({"active", "building", "previous"})


class ReindexCatalog(IndexModelRegistry, ReindexQueue, Protocol):
    """What reindexing needs of the catalog: the index states and the reindex tasks."""


def canonical_spec(text: str) -> str:
    """The canonical form of an operator's model spec; 422 ``unknown_index_model`` if invalid."""
    try:
        return str(ModelSpec.parse(text))
    except UnknownIndexModel as exc:
        raise ValidationFailed(str(exc), code="unknown_index_model") from exc


@dataclass(frozen=True)
class _Snapshot:
    active: str
    kept: tuple[str, ...]
    building: bool
    read_at: float


@dataclass(frozen=True)
class WriteTargets:
    """What the dispatcher needs, read once per dispatch: where uploads go, and whether a
    reindex has tasks to send (without one, no reindex query is made)."""

    index_models: tuple[str, ...]
    building: bool


class IndexModels:
    """The gateway's view of the embedding indexes, cached for :data:`CACHE_TTL_S`."""

    def __init__(
        self,
        catalog: ReindexCatalog,
        broker: Broker,
        *,
        default_spec: str,
        ttl_s: float = CACHE_TTL_S,
    ) -> None:
        self._catalog = catalog
        self._broker = broker
        self.default_spec = default_spec
        self._ttl_s = ttl_s
        self._snapshot: _Snapshot | None = None

    @property
    def queue(self) -> ReindexQueue:
        """The reindex tasks, for the dispatcher that sends them."""
        return self._catalog

    async def _current(self, *, fresh: bool = False) -> _Snapshot:
        snapshot = self._snapshot
        if not fresh and snapshot is not None and time.monotonic() - snapshot.read_at < self._ttl_s:
            return snapshot
        rows = await self._catalog.list_index_models()
        active = next((row.spec for row in rows if row.state == "active"), None)
        if active is None:  # a fresh catalog: seed the default
            active = await self._catalog.active_index_model(self.default_spec)
            rows = await self._catalog.list_index_models()
        # The active index first: the worker bills a tenant's upload for the first index named.
        others = tuple(row.spec for row in rows if row.state in _KEPT_STATES and row.spec != active)
        kept = (active, *others)
        building = any(row.state == "building" for row in rows)
        snapshot = _Snapshot(active, kept, building, time.monotonic())
        self._snapshot = snapshot
        return snapshot

    def forget(self) -> None:
        """Drop the cached states: this replica just changed them."""
        self._snapshot = None

    async def active(self) -> str:
        """The spec searches read now (one call per request)."""
        return (await self._current()).active

    async def write_targets(self) -> WriteTargets:
        """The specs an upload's version must be written to (empty: the default index only),
        and whether a reindex is building.

        Every index not dropped: the active one, the building one (so it is complete when reads
        switch) and the previous ones (so switching back loses nothing uploaded since). Dropping
        a previous index ends the double embedding. Read afresh, not from the cache (one read of
        a table of a few rows): a version published with a stale list a moment after another
        replica started a reindex would be in neither the reindex's tasks (enumerated before
        it) nor the new index.
        """
        snapshot = await self._current(fresh=True)
        return WriteTargets(self._named(snapshot.kept), snapshot.building)

    async def kept(self) -> tuple[str, ...]:
        """Every index not dropped: a deletion must reach each one (empty: the default only).

        Read afresh like :meth:`write_targets`: a delete a moment after another replica started
        a reindex must reach the new index too, and deletes are rare next to searches.
        """
        return self._named((await self._current(fresh=True)).kept)

    def _named(self, specs: tuple[str, ...]) -> tuple[str, ...]:
        """The default index alone travels as no name: the worker's default, exactly as before
        reindexing existed, so a worker configured apart from the gateway still finds it."""
        return () if specs == (self.default_spec,) else specs

    # the operator's actions

    async def start(self, text: str) -> IndexModelRecord:
        spec = canonical_spec(text)
        record = await self._catalog.start_reindex(spec, default_spec=self.default_spec)
        self.forget()
        _log.info("reindex_started", index_model=spec, total=record.total)
        return record

    async def activate(self, text: str) -> IndexModelRecord:
        record = await self._catalog.activate_index_model(canonical_spec(text))
        self.forget()
        _log.info("index_model_activated", index_model=record.spec)
        return record

    async def drop(self, text: str) -> IndexModelRecord:
        """Retire a non-active index: no more tasks go out, the worker deletes its collection.

        The catalog says ``dropping`` until the broker confirmed the drop request, then
        ``dropped``; a failed publish leaves it ``dropping`` for the operator to repeat.
        """
        spec = canonical_spec(text)
        record = await self._catalog.begin_drop(spec)
        self.forget()
        await self._broker.publish(
            IndexDropRequested(tenant_id=SYSTEM_TENANT_ID, index_model=spec),
            routing_key=ROUTING_INDEX_DROP,
        )
        await self._catalog.finish_drop(spec)
        _log.info("index_model_dropped", index_model=spec)
        dropped = await self._catalog.get_index_model(spec)
        return dropped if dropped is not None else record

    async def list(self) -> list[IndexModelRecord]:
        await self._catalog.active_index_model(self.default_spec)  # seeds a fresh catalog
        return await self._catalog.list_index_models()

    async def get(self, text: str) -> IndexModelRecord | None:
        await self._catalog.active_index_model(self.default_spec)
        return await self._catalog.get_index_model(canonical_spec(text))

    # the worker's reports

    async def record_progress(self, event: JobStatusChanged) -> bool:
        """Count a reindex task's terminal status; True when it changed anything (a
        redelivered event does not). Non-terminal statuses are not progress."""
        if event.index_model is None or not event.status.is_terminal:
            return False
        failed = event.status is JobStatus.FAILED
        return await self.settle(event.tenant_id, event.job_id, failed=failed, reason=event.reason)

    async def settle(
        self, tenant_id: TenantId, task_id: str, *, failed: bool, reason: str | None
    ) -> bool:
        """Count one reindex task as done or failed (once); True when it changed anything."""
        record = await self._catalog.finish_reindex_task(
            tenant_id, task_id, failed=failed, reason=reason
        )
        self._note(record)
        return record is not None

    def _note(self, record: IndexModelRecord | None) -> None:
        if record is not None and record.state == "active" and record.complete:
            # This settlement switched reads (or the index was active already): re-read.
            self.forget()
            _log.info("index_model_switched", index_model=record.spec, failed=record.failed)
