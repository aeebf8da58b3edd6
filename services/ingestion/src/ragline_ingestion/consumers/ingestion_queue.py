"""The handler of the ingestion queue: each command type goes to its pipeline step.

Decoding, the consumer span and the log context are :class:`~ragline_common.consuming.
MessageConsumer`'s; settlement is the broker's and follows from what this raises (see
:data:`ragline_common.ports.broker.Handler`): an undecodable message, or one that is not a
command for the worker (a job status event, say), is dead-lettered, never retried.
"""

from __future__ import annotations

from ragline_common.consuming import MessageConsumer, route
from ragline_common.messages import (
    DocumentDeleteRequested,
    DocumentIngestRequested,
    IndexDropRequested,
    TenantDeleteRequested,
)
from ragline_common.ports.broker import Delivery
from ragline_common.topology import QueueName
from ragline_ingestion.domain.pipeline import IngestionPipeline


class IngestionQueueConsumer:
    def __init__(self, pipeline: IngestionPipeline) -> None:
        self._consume = MessageConsumer(
            QueueName.INGESTION,
            [
                route(DocumentIngestRequested, pipeline.ingest),
                route(DocumentDeleteRequested, pipeline.delete),
                route(TenantDeleteRequested, pipeline.delete_tenant),
                route(IndexDropRequested, pipeline.drop_index),
            ],
        )

    async def handle(self, delivery: Delivery) -> None:
        await self._consume(delivery)
