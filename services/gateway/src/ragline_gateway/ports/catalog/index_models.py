"""The reindex roles of the catalog: which embedding index reads use, and the tasks building one.

Indexes are named by model spec (``KIND`` or ``KIND:MODEL``, see
``ragline_common.indexing.model_spec``). Exactly one index is ``active`` (what searches read);
a reindex builds one more (``building``) from the catalog's stored content; when it completes,
reads switch in one transaction and the old index becomes ``previous``, which reads can switch
back to until it is dropped (ADR 0018). The registry holds the states; the reindex queue holds
the tasks, dispatched within each tenant's window beside its uploads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from ragline_common.tenancy import TenantId

IndexModelState = Literal["building", "active", "previous", "dropping", "dropped", "failed"]


@dataclass(frozen=True)
class IndexModelRecord:
    spec: str
    state: IndexModelState
    created_at: datetime
    activated_at: datetime | None
    total: int
    """Reindex tasks enqueued for this index (0 for the seeded default)."""
    done: int
    failed: int
    error: str | None
    """The last failed task's reason, for the operator."""

    @property
    def complete(self) -> bool:
        """Every task has finished, failed or not."""
        return self.done + self.failed >= self.total

    @property
    def percent(self) -> float:
        return (
            100.0 if self.total == 0 else round(100.0 * (self.done + self.failed) / self.total, 1)
        )


@dataclass(frozen=True)
class ReindexTask:
    """One live document version to embed into ``spec``'s index."""

    id: str
    spec: str
    tenant_id: TenantId
    document_id: str
    version: int


class IndexModelRegistry(Protocol):
    """The embedding indexes and their states; every change is one transaction.

    Refusals are :class:`~ragline_common.errors.Conflict` (``reindex_in_progress``,
    ``index_model_active``, ``index_model_dropped``) or
    :class:`~ragline_common.errors.NotFound` (``index_model_not_found``).
    """

    async def active_index_model(self, default_spec: str) -> str:
        """The spec reads use; seeds ``default_spec`` as active when no index is recorded."""

    async def list_index_models(self) -> list[IndexModelRecord]: ...

    async def get_index_model(self, spec: str) -> IndexModelRecord | None: ...

    async def start_reindex(self, spec: str, *, default_spec: str) -> IndexModelRecord:
        """Mark ``spec`` building and enqueue one task per live document version, every tenant.

        A live version is a non-deleted document's indexed version, plus its newest version
        when that one's job is still unfinished (it would become the indexed one meanwhile).
        """

    async def activate_index_model(self, spec: str) -> IndexModelRecord:
        """Switch reads to ``spec`` (a ``previous`` one, or a ``building`` one whose tasks all
        finished): it becomes active and the active one previous, atomically."""

    async def begin_drop(self, spec: str) -> IndexModelRecord:
        """Mark a non-active index ``dropping`` (its unpublished tasks are discarded)."""

    async def finish_drop(self, spec: str) -> None:
        """Mark it ``dropped`` once the worker was asked (durably) to delete its collection."""


class ReindexQueue(Protocol):
    """Reindex tasks: dispatched per tenant beside uploads, settled by the worker's events."""

    async def next_reindex_tasks(self, tenant_id: TenantId, *, limit: int) -> list[ReindexTask]:
        """The tenant's oldest tasks waiting to be published, of building indexes only."""

    async def tenants_with_reindex_tasks(self, *, limit: int) -> list[TenantId]: ...

    async def mark_reindex_task_published(self, tenant_id: TenantId, task_id: str) -> None: ...

    async def count_reindex_in_flight(self, tenant_id: TenantId) -> int:
        """The tenant's published, unfinished tasks: they share its dispatch window."""

    async def finish_reindex_task(
        self, tenant_id: TenantId, task_id: str, *, failed: bool, reason: str | None
    ) -> IndexModelRecord | None:
        """Settle a task once (a redelivered event changes nothing and returns None) and count
        it; when that completes its index with no failures, switch reads to it in the same
        transaction. Returns the index's row after the change."""

    async def reset_reindex_publication(self) -> int:
        """Mark published, unfinished tasks waiting again (the in-memory broker lost them)."""
