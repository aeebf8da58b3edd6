"""The dispatch queue role of the catalog: which jobs wait to be published, and with what.

Its own module because a waiting job is read with its document (:class:`UnpublishedJob`), and
the document records import the job records: here both are imported, with no cycle.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from ragline_common.tenancy import TenantId
from ragline_gateway.ports.catalog.documents import DocumentRecord
from ragline_gateway.ports.catalog.jobs import JobRecord


@dataclass(frozen=True)
class UnpublishedJob:
    """A job waiting to be dispatched, read with what its message sends."""

    job: JobRecord
    sent: tuple[DocumentRecord, bytes] | None
    """The live document and the job's version's content; None if they were not read with the
    job (a large content, read on its own when the job goes out, to bound a round's memory) or
    are gone (the document was deleted meanwhile)."""


class DispatchQueue(Protocol):
    """Unfinished jobs: which wait to be published, which are in the broker, how deep it is."""

    async def next_unpublished(self, tenant_id: TenantId, *, limit: int) -> list[UnpublishedJob]:
        """The tenant's unfinished, unpublished jobs, oldest first (what to dispatch next),
        each with its document and content if small: one read for a dispatch round, where a
        read per job was a round trip each."""

    async def tenants_with_unpublished(self, *, limit: int) -> list[TenantId]:
        """Tenants that have jobs waiting to be dispatched."""

    async def mark_jobs_published(self, tenant_id: TenantId, job_ids: Sequence[str]) -> None:
        """Record that the broker confirmed these jobs (one statement for a dispatch round)."""

    async def count_in_flight(self, tenant_id: TenantId) -> int:
        """Jobs of the tenant published to the broker and not yet indexed or failed."""

    async def reset_publication(self) -> int:
        """Mark every unfinished job unpublished (after the in-process broker lost them)."""

    async def unfinished_jobs(
        self, *, published: bool | None, limit: int, offset: int = 0
    ) -> Sequence[JobRecord]:
        """Jobs not yet indexed or failed, oldest first (recovery after a crash or restart)."""

    async def count_unfinished_jobs(self) -> int:
        """Jobs of every tenant not yet indexed or failed: the ingestion backlog."""

    async def count_tenant_unfinished_jobs(self, tenant_id: TenantId) -> int:
        """The tenant's own share of the backlog: its jobs not yet indexed or failed."""
