"""The ingestion worker as a hostable component (see :mod:`ragline_common.hosting`).

It neither provides nor requires an API: it talks to the rest through the broker.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from functools import partial
from typing import Any

import structlog
from fastapi import APIRouter
from starlette.middleware import Middleware

from ragline_common.adapters.embedder.batching import BatchingEmbedder, worker_batch_size
from ragline_common.adapters.sparse.bm25 import Bm25SparseEncoder
from ragline_common.hosting import Api, Host, Requirement, ping_default_index
from ragline_common.ports.embedder import Embedder
from ragline_common.topology import QueueName
from ragline_ingestion.consumers.ingestion_queue import IngestionQueueConsumer
from ragline_ingestion.domain.bulk_loads import IdleBulkLoads
from ragline_ingestion.domain.parsing import default_parsers
from ragline_ingestion.domain.pipeline import IngestionPipeline
from ragline_ingestion.settings import IngestionSettings

_log = structlog.get_logger(__name__)


class IngestionComponent:
    def __init__(self, settings: IngestionSettings | None = None) -> None:
        """``settings`` defaults to the environment, read when the component starts."""
        self._settings = settings

    @property
    def name(self) -> str:
        return "ingestion"

    @property
    def provides(self) -> Collection[Api[Any]]:
        return ()

    @property
    def requires(self) -> Collection[Requirement[Any]]:
        return ()

    def routers(self, *, internal_api: bool) -> Sequence[APIRouter]:
        """None: the worker has no API. The runner mounts ``/healthz``, ``/readyz`` and
        ``/metrics`` for every service."""
        return []

    def middleware(self) -> Sequence[Middleware]:
        return ()

    async def start(self, host: Host) -> None:
        settings = self._settings if self._settings is not None else IngestionSettings()
        # Load the model before consuming: the first message must not wait for it.
        embedder = await host.embedder()
        await embedder.warm_up()
        vector_store = await host.vector_store()
        broker = await host.broker()
        host.checks.setdefault("vector_store", partial(ping_default_index, host))
        host.checks.setdefault("broker", broker.ping)

        # Most documents are a chunk or two: embedded one document at a time, the model
        # would run at batch size 1-2. The batcher pools the chunks of the documents in flight
        # (``concurrency`` of them) into length-sorted windows of full batches. Only this
        # pipeline's calls go through it; the shared embedder stays unbatched, so a co-hosted
        # search never waits for a batch.
        def batching(inner: Embedder) -> Embedder:
            # A remote provider gets batches of its request size, not the local model's.
            batch_size = worker_batch_size(inner, host.settings.embedder)
            return BatchingEmbedder(
                inner,
                batch_size=batch_size,
                max_wait_s=settings.embed_batch_wait_ms / 1000,
                window=max(settings.embed_window, batch_size),
                lanes=host.settings.embedder.parallel_encodes,
            )

        # Left before the stores close (the stack unwinds in reverse): loads end, indexes build.
        bulk_loads = IdleBulkLoads()
        host.stack.push_async_callback(bulk_loads.aclose)
        pipeline = IngestionPipeline(
            settings=settings,
            parsers=default_parsers(settings.parse_limits),
            embedder=batching(embedder),
            vector_store=vector_store,
            broker=broker,
            sparse_encoder=Bm25SparseEncoder(),
            # Other models' indexes (a reindex, uploads during one) open on first use.
            indexes=host.indexes,
            wrap_embedder=batching,
            bulk_loads=bulk_loads,
        )
        consumer = IngestionQueueConsumer(pipeline)
        await broker.consume(QueueName.INGESTION, consumer.handle, prefetch=settings.concurrency)
        _log.info("ingestion_started", concurrency=settings.concurrency, model=embedder.model_id)
