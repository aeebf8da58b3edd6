"""Build the shared adapters a :class:`~ragline_common.hosting.Host` hands out.

The adapter is chosen by an exhaustive ``match`` on a ``Literal`` setting, and each adapter
module is imported only when chosen, so a process never loads torch or a vector engine it does
not use. Every adapter is opened here and closed by the host's exit stack.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from typing import TYPE_CHECKING

from ragline_common.observability.messaging import sample_queue_depths
from ragline_common.ports.broker import Broker
from ragline_common.ports.embedder import Embedder
from ragline_common.ports.vector_store import VectorStore
from ragline_common.topology import QueueName

if TYPE_CHECKING:
    from pathlib import Path

    from ragline_common.hosting import Host

QUEUE_SAMPLE_INTERVAL_S = 15.0
"""As often as Prometheus scrapes (deploy/prometheus/prometheus.yml)."""
SAMPLED_QUEUES = (
    QueueName.INGESTION,
    QueueName.INTAKE,
    QueueName.JOB_EVENTS,
    QueueName.DEAD_LETTERS,
)


def model_slug(model_id: str) -> str:
    """Filesystem- and collection-safe model id: ``all-MiniLM-L6-v2`` -> ``all-minilm-l6-v2``."""
    return re.sub(r"[^a-z0-9]+", "-", model_id.lower()).strip("-")


def edge_shard_path(vector_store_root: Path, model_id: str, dimension: int) -> Path:
    """One embedded shard per embedding model: vectors of different models never mix."""
    return vector_store_root / f"{model_slug(model_id)}-{dimension}"


async def open_broker(host: Host) -> Broker:
    settings = host.settings.broker
    broker: Broker
    match settings.kind:
        case "memory":
            from ragline_common.adapters.broker.memory import MemoryBroker

            broker = MemoryBroker(close_timeout_s=host.settings.core.shutdown_grace_s)
        case "rabbitmq":
            from ragline_common.adapters.broker.rabbitmq import RabbitMqBroker

            broker = RabbitMqBroker(
                settings,
                namespace=settings.namespace,
                close_timeout_s=host.settings.core.shutdown_grace_s,
            )
    await broker.start()
    host.stack.push_async_callback(broker.close)
    # Queue depths for /metrics; cancelled before the broker closes (the stack unwinds LIFO).
    sampler = asyncio.create_task(
        sample_queue_depths(broker, SAMPLED_QUEUES, interval_s=QUEUE_SAMPLE_INTERVAL_S),
        name="queue-depth-sampler",
    )
    host.stack.push_async_callback(_cancel, sampler)
    return broker


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def open_embedder(host: Host) -> Embedder:
    settings = host.settings.embedder
    match settings.kind:
        case "minilm":
            from ragline_common.adapters.embedder.minilm import MiniLmEmbedder

            return MiniLmEmbedder(settings)
        case "hash":
            from ragline_common.adapters.embedder.hashing import HashEmbedder

            return HashEmbedder(settings.hash_dimension)


async def open_vector_store(host: Host) -> VectorStore:
    settings = host.settings.vector_store
    embedder = await host.embedder()
    store: VectorStore
    match settings.kind:
        case "edge":
            from ragline_common.adapters.vector_store.edge import EdgeVectorStore

            path = edge_shard_path(
                settings.resolved_path(host.settings.core.data_dir),
                embedder.model_id,
                embedder.dimension,
            )
            store = EdgeVectorStore(path, dimension=embedder.dimension)
        case "qdrant":
            from ragline_common.adapters.vector_store.qdrant_remote import QdrantRemoteVectorStore

            store = QdrantRemoteVectorStore(
                model_id=embedder.model_id,
                dimension=embedder.dimension,
                collection_prefix=settings.collection_prefix,
                url=settings.url,
                api_key=settings.api_key.get_secret_value() if settings.api_key else None,
                timeout_s=settings.timeout_s,
            )
    await store.open()
    host.stack.push_async_callback(store.close)
    return store
