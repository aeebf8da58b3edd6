"""Catalog port: tenants, API keys, documents, jobs, usage, idempotency keys and index models.

The gateway owns the catalog (ADR 0003); workers report through events. Every method that reads
or changes tenant data takes ``tenant_id`` and never returns another tenant's rows.

The port is a set of roles, one module each, so that a piece of the gateway depends on the part
of the catalog it uses (the dispatcher on the dispatch queue, authentication on the tenant
directory) and each role can be read, faked and implemented on its own. :class:`Catalog` is
their sum, for the wiring that hands one catalog to every piece. The records are re-exported
here, where most code imports them from.
"""

from __future__ import annotations

from typing import Protocol

from ragline_gateway.ports.catalog.dispatch_queue import DispatchQueue, UnpublishedJob
from ragline_gateway.ports.catalog.documents import (
    DocumentDraft,
    DocumentRecord,
    DocumentStore,
    PendingErasures,
    StorageUsage,
    Submission,
)
from ragline_gateway.ports.catalog.idempotency import (
    IdempotencyClaim,
    IdempotencyStore,
    StoredResponse,
)
from ragline_gateway.ports.catalog.index_models import (
    IndexModelRecord,
    IndexModelRegistry,
    IndexModelState,
    ReindexQueue,
    ReindexTask,
)
from ragline_gateway.ports.catalog.jobs import (
    JobListing,
    JobRecord,
    JobStatusLedger,
    JobStatusUpdate,
    TraceContext,
)
from ragline_gateway.ports.catalog.tenants import (
    ApiKeyRecord,
    TenantDirectory,
    TenantLimits,
    TenantRecord,
)
from ragline_gateway.ports.catalog.usage import UsageDelta, UsageRecord, UsageTotals

__all__ = [
    "ApiKeyRecord",
    "Catalog",
    "DispatchQueue",
    "DocumentDraft",
    "DocumentRecord",
    "DocumentStore",
    "IdempotencyClaim",
    "IdempotencyStore",
    "IndexModelRecord",
    "IndexModelRegistry",
    "IndexModelState",
    "JobListing",
    "JobRecord",
    "JobStatusLedger",
    "JobStatusUpdate",
    "PendingErasures",
    "ReindexQueue",
    "ReindexTask",
    "StorageUsage",
    "StoredResponse",
    "Submission",
    "TenantDirectory",
    "TenantLimits",
    "TenantRecord",
    "TraceContext",
    "UnpublishedJob",
    "UsageDelta",
    "UsageRecord",
    "UsageTotals",
]


class Catalog(
    TenantDirectory,
    DocumentStore,
    PendingErasures,
    DispatchQueue,
    JobStatusLedger,
    JobListing,
    UsageTotals,
    IdempotencyStore,
    IndexModelRegistry,
    ReindexQueue,
    Protocol,
):
    """Every role of the catalog in one store, as the gateway's wiring holds it."""

    async def open(self) -> None:
        """Connect and bring the schema up to date (migrations)."""

    async def close(self) -> None: ...

    async def ping(self) -> None: ...
