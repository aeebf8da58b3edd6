"""A microservices stack for end-to-end tests that need to kill, restart and inspect its parts.

Three processes on the real RabbitMQ, PostgreSQL and Redis, as in production: the gateway,
generation, and the vector-touching pair ``retrieval,ingestion`` (the worker), which owns an
embedded Qdrant Edge shard on disk. The worker can be killed and restarted on the same port and
data directory, and its shard read directly once it is stopped.
"""

from __future__ import annotations

import asyncio
import secrets
import signal
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ragline_e2e_harness import RaglineProcess

from ragline_common.adapters.broker.rabbitmq import delete_topology

RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672/"


@dataclass
class Stack:
    gateway: RaglineProcess
    generation: RaglineProcess
    worker: RaglineProcess
    admin_token: str
    namespace: str
    work: Path

    @property
    def url(self) -> str:
        return self.gateway.url

    @property
    def vectors_dir(self) -> Path:
        """Where the worker's vector store keeps its shards (``<data dir>/vectors``)."""
        return self.work / "vectors" / "vectors"

    def kill_worker(self) -> None:
        """SIGKILL: no shutdown code runs, unacked messages go back to the queue."""
        assert self.worker.process is not None
        self.worker.process.send_signal(signal.SIGKILL)
        self.worker.process.wait(timeout=30)

    def restart_worker(self) -> None:
        """A fresh worker process on the same port and data directory."""
        self.worker = RaglineProcess(
            self.worker.targets, self.worker.env, self.worker.log_path, port=self.worker.port
        ).start()

    def stop(self) -> None:
        for process in (self.gateway, self.generation, self.worker):
            process.stop()
        asyncio.run(delete_topology(RABBITMQ_URL, self.namespace))


def start_stack(
    postgres_url: str, work: Path, *, extra_env: Mapping[str, str] | None = None
) -> Stack:
    admin_token = secrets.token_urlsafe(24)
    namespace = f"e2e-{secrets.token_hex(4)}"
    common = {
        "RAGLINE_BROKER_KIND": "rabbitmq",
        "RAGLINE_BROKER_URL": RABBITMQ_URL,
        "RAGLINE_BROKER_NAMESPACE": namespace,
        "RAGLINE_INTERNAL_TOKEN": secrets.token_urlsafe(24),
        "RAGLINE_LOG_LEVEL": "info",
        "RAGLINE_EMBEDDER_KIND": "hash",
        **(extra_env or {}),
    }
    started: list[RaglineProcess] = []
    try:
        worker = RaglineProcess(
            "retrieval,ingestion",
            {**common, "RAGLINE_DATA_DIR": str(work / "vectors")},
            work / "worker.log",
        )
        started.append(worker.start())
        generation = RaglineProcess(
            "generation", {**common, "RAGLINE_DATA_DIR": str(work / "generation")}, work / "gen.log"
        )
        started.append(generation.start())
        gateway = RaglineProcess(
            "gateway",
            {
                **common,
                "RAGLINE_DATA_DIR": str(work / "gateway"),
                "RAGLINE_CATALOG_URL": postgres_url,
                "RAGLINE_ADMIN_TOKEN": admin_token,
                "RAGLINE_GATEWAY_KEY_PEPPER": secrets.token_hex(32),
                "RAGLINE_GATEWAY_RATE_LIMITER": "redis",
                "RAGLINE_GATEWAY_INGEST_PER_MINUTE": "100000",
                "RAGLINE_GATEWAY_RETRIEVAL_URL": worker.url,
                "RAGLINE_GATEWAY_GENERATION_URL": generation.url,
            },
            work / "gateway.log",
        )
        started.append(gateway.start())
    except BaseException:
        # A process that failed to start must not leave the others, or the queues, behind.
        for process in reversed(started):
            process.stop()
        asyncio.run(delete_topology(RABBITMQ_URL, namespace))
        raise
    return Stack(gateway, generation, worker, admin_token, namespace, work)


def all_stored_points(vectors_dir: Path) -> list[tuple[str, dict[str, Any]]]:
    """Every point of every shard under ``vectors_dir``, read with the engine itself.

    Deliberately not through ``EdgeVectorStore``, whose reads are all tenant-scoped: finding a
    chunk filed under the wrong tenant needs the unfiltered view. The worker must be stopped
    (the engine admits one process per shard).
    """
    import qdrant_edge as edge

    points: list[tuple[str, dict[str, Any]]] = []
    for shard_dir in sorted(path for path in vectors_dir.iterdir() if path.is_dir()):
        shard = edge.EdgeShard.load(str(shard_dir))
        try:
            cursor: Any = None
            while True:
                records, cursor = shard.scroll(
                    edge.ScrollRequest(offset=cursor, limit=1000, with_payload=True)
                )
                points.extend((str(record.id), dict(record.payload or {})) for record in records)
                if cursor is None:
                    break
        finally:
            shard.close()
    return points
