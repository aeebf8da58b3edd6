"""Erasing a tenant: catalog rows, stored contents, keys, vectors and dead letters.

The catalog goes first, in one transaction: from then on no key of the tenant authenticates
(on other replicas within the key cache's second) and no search shows its chunks (hits are
filtered by the catalog). The vectors go next, by a ``tenant.delete.v1`` command to the
ingestion worker, which owns the vector store; a job that was already being indexed reports
afterwards for a job the catalog no longer knows, and the gateway then deletes that document's
chunks too (see :mod:`ragline_gateway.consumers.job_events`).

If the broker is down the command fails with 503; the operator repeats the ``DELETE``, which
answers 404 for the already-erased catalog but sends the vector erasure again.
"""

from __future__ import annotations

import structlog

from ragline_common.messages import TenantDeleteRequested
from ragline_common.observability.tracing import inject_context
from ragline_common.ports.broker import Broker
from ragline_common.tenancy import TenantId
from ragline_common.topology import ROUTING_TENANT_DELETE
from ragline_gateway.domain.key_directory import KeyDirectory
from ragline_gateway.ports.catalog import TenantDirectory

_log = structlog.get_logger(__name__)


async def erase_tenant(
    catalog: TenantDirectory,
    broker: Broker,
    keys: KeyDirectory,
    tenant_id: TenantId,
    *,
    index_models: tuple[str, ...] = (),
) -> bool:
    """Erase everything of the tenant; ``False`` when the catalog had no such tenant."""
    existed = await catalog.delete_tenant(tenant_id)
    keys.forget_tenant(tenant_id)
    await broker.publish(
        TenantDeleteRequested(tenant_id=tenant_id, index_models=index_models),
        routing_key=ROUTING_TENANT_DELETE,
        headers=inject_context(),
    )
    purged = await broker.purge_dead_letters(tenant_id)
    _log.info("tenant_erased", tenant_id=tenant_id, existed=existed, dead_letters=purged)
    return existed
