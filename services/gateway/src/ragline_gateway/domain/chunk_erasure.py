"""Reconciling deletions: chunks of deleted documents are erased even if a request was lost.

Deleting a document tombstones it in the catalog (searches stop showing it at once) and then
asks the worker, through the broker, to erase its chunks. If the broker refused that request,
the chunks stayed in the vector store for good: hidden, but never erased, which an erasure
request (a user's, or the law's) does not allow. The catalog therefore keeps a deleted document
*pending erasure* until the broker has confirmed its request, and the gateway's periodic sweep
calls :func:`resend_pending_erasures` to send the request again for every document still
pending, oldest deletion first.

The broker's confirmation is the end of the gateway's duty: from there the request is durable,
and the worker retries it through outages of the vector store (transient retries) like any other
message. Sending a request twice is harmless: erasing a document's chunks is idempotent.
"""

from __future__ import annotations

import structlog

from ragline_common.ports.broker import Broker
from ragline_gateway.domain.uploads import request_chunk_deletion
from ragline_gateway.ports.catalog import PendingErasures

_log = structlog.get_logger(__name__)
_PER_SWEEP = 100
"""Requests sent per sweep at most: a backlog of lost deletions drains without a burst."""


async def resend_pending_erasures(
    catalog: PendingErasures,
    broker: Broker,
    *,
    limit: int = _PER_SWEEP,
    index_models: tuple[str, ...] = (),
) -> int:
    """Send the erasure request again for deleted documents still pending; how many went out.

    Stops at the first refusal: the broker is still down, and the next sweep tries again.
    """
    sent = 0
    for tenant_id, document_id in await catalog.documents_pending_erasure(limit=limit):
        if not await request_chunk_deletion(
            catalog, broker, tenant_id, document_id, index_models=index_models
        ):
            break
        sent += 1
    if sent:
        _log.info("document_deletes_resent", count=sent)
    return sent
