"""Build the shared adapters a :class:`~ragline_common.hosting.Host` hands out.

The adapter is chosen by an exhaustive ``match`` on a ``Literal`` setting, and each adapter
module is imported only when chosen, so a process never loads torch or a vector engine it does
not use. Each function takes only the settings and the exit stack that will close what it
opens (never the host itself, which is assembled from these functions), so an adapter can be
opened by a test, a benchmark or an operator command as well as by a process.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING

from ragline_common.adapters.embedder.selection import local_embedder
from ragline_common.observability.messaging import sample_queue_depths
from ragline_common.ports.broker import Broker
from ragline_common.ports.embedder import Embedder
from ragline_common.ports.vector_store import VectorStore
from ragline_common.settings import EmbedderSettings, InfrastructureSettings
from ragline_common.topology import QueueName

if TYPE_CHECKING:
    from pathlib import Path

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


async def open_broker(settings: InfrastructureSettings, stack: AsyncExitStack) -> Broker:
    broker_settings = settings.broker
    close_timeout_s = settings.core.shutdown_grace_s
    broker: Broker
    match broker_settings.kind:
        case "memory":
            from ragline_common.adapters.broker.memory import MemoryBroker

            broker = MemoryBroker(close_timeout_s=close_timeout_s)
        case "rabbitmq":
            from ragline_common.adapters.broker.rabbitmq import RabbitMqBroker

            broker = RabbitMqBroker(
                broker_settings,
                namespace=broker_settings.namespace,
                close_timeout_s=close_timeout_s,
            )
    await broker.start()
    stack.push_async_callback(broker.close)
    # Queue depths for /metrics; cancelled before the broker closes (the stack unwinds LIFO).
    sampler = asyncio.create_task(
        sample_queue_depths(broker, SAMPLED_QUEUES, interval_s=QUEUE_SAMPLE_INTERVAL_S),
        name="queue-depth-sampler",
    )
    stack.push_async_callback(_cancel, sampler)
    return broker


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def open_embedder(settings: EmbedderSettings, stack: AsyncExitStack) -> Embedder:
    """The embedder ``settings.kind`` names; a remote provider's HTTP client closes with ``stack``.

    A remote model's dimension may be left to discovery, and the vector store is created from
    it, so such an embedder is warmed up (its probe answered) before anyone reads ``dimension``.
    With a configured dimension the warm-up waits for the host's usual turn, like a local model.
    """
    match settings.kind:
        case "openai":
            from ragline_common.adapters.embedder.openai_compatible import (
                OpenAICompatibleEmbedder,
            )

            remote = OpenAICompatibleEmbedder.from_settings(settings)
            stack.push_async_callback(remote.aclose)
            if settings.dimension is None:
                await remote.warm_up()
            return remote
        case _:
            return local_embedder(settings)


async def open_vector_store(
    settings: InfrastructureSettings, stack: AsyncExitStack, embedder: Embedder
) -> VectorStore:
    """The store for ``embedder``'s vectors: collections and shards are per embedding model."""
    store_settings = settings.vector_store
    store: VectorStore
    match store_settings.kind:
        case "edge":
            from ragline_common.adapters.vector_store.edge import EdgeVectorStore

            path = edge_shard_path(
                store_settings.resolved_path(settings.core.data_dir),
                embedder.model_id,
                embedder.dimension,
            )
            store = EdgeVectorStore(path, dimension=embedder.dimension)
        case "qdrant":
            from ragline_common.adapters.vector_store.qdrant_remote import QdrantRemoteVectorStore

            store = QdrantRemoteVectorStore(
                model_id=embedder.model_id,
                dimension=embedder.dimension,
                collection_prefix=store_settings.collection_prefix,
                url=store_settings.url,
                api_key=store_settings.api_key.get_secret_value()
                if store_settings.api_key
                else None,
                timeout_s=store_settings.timeout_s,
            )
    await store.open()
    stack.push_async_callback(store.close)
    return store
