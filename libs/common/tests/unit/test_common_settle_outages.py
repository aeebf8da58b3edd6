"""An outage escaping any handler is a delayed retry, never a spent delivery (defect 4).

``settle()`` is the one place every consumer's outcome is decided, so it is also the one place
where "a dependency is down" (``UpstreamUnavailable``) must become a transient retry: a handler
that forgets to translate it would otherwise have its message requeued against the queue's
delivery limit and parked within milliseconds of a short outage.
"""

from __future__ import annotations

import asyncio

from ragline_common.adapters.broker.memory import MemoryBroker
from ragline_common.errors import UpstreamUnavailable
from ragline_common.messages import DocumentDeleteRequested
from ragline_common.ports.broker import Delivery
from ragline_common.tenancy import TenantId
from ragline_common.topology import ROUTING_DELETE, QueueName

TENANT = TenantId("ten_outage")


async def test_an_upstream_outage_in_a_handler_is_retried_without_using_the_delivery_limit() -> (
    None
):
    # A delivery limit of one: two requeues would park the message.
    broker = MemoryBroker(delay_scale=0.001, delivery_limit=1, close_timeout_s=1.0)
    await broker.start()
    seen: list[Delivery] = []
    done = asyncio.Event()

    async def catalog_down_twice(delivery: Delivery) -> None:
        seen.append(delivery)
        if len(seen) <= 3:
            raise UpstreamUnavailable("The catalog database is unavailable.")
        done.set()

    try:
        await broker.consume(QueueName.INGESTION, catalog_down_twice, prefetch=1)
        await broker.publish(
            DocumentDeleteRequested(tenant_id=TENANT, document_id="doc"),
            routing_key=ROUTING_DELETE,
        )
        await asyncio.wait_for(done.wait(), timeout=10)
        assert [delivery.attempt for delivery in seen] == [0, 1, 2, 3]
        # Retried copies, not redeliveries: the budget for crashes is untouched.
        assert not any(delivery.redelivered for delivery in seen)
        assert await broker.list_dead_letters(None, limit=10) == []
    finally:
        await broker.close()
