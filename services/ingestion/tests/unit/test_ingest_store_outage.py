"""The worker outlives a vector store or embedder that is down for a moment (defect 4).

The component runs on a real host (in-process broker, embedded Qdrant Edge, hashing embedder);
the store (or the embedder) refuses every call for a while, as a restarting Qdrant server
would. The job must be indexed once the dependency is back, by delayed retries: no dead letter,
and no delivery counted against the queue's delivery limit.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import anyio
import pytest

from ragline_cli.hosting import ProcessHost
from ragline_common.errors import UpstreamUnavailable
from ragline_common.messages import (
    DocumentIngestRequested,
    JobStatus,
    JobStatusChanged,
    parse_message,
)
from ragline_common.ports.broker import Delivery, Handler
from ragline_common.settings import CoreSettings
from ragline_common.tenancy import TenantId
from ragline_common.topology import ROUTING_INGEST, QueueName
from ragline_ingestion.component import IngestionComponent
from ragline_ingestion.settings import IngestionSettings
from ragline_testing.harness import embedded_settings

TENANT = TenantId("ten_outage")
OUTAGE_S = 0.5
"""Shorter than the first retry tier (1 s): the second attempt finds the dependency back."""


@pytest.fixture
async def host(tmp_path: Path) -> AsyncIterator[ProcessHost]:
    settings = embedded_settings(
        CoreSettings(data_dir=tmp_path, shutdown_grace_s=1.0), hash_dimension=64
    )
    async with AsyncExitStack() as stack:
        yield ProcessHost(settings, stack)


def _down_until(deadline: list[float], what: str, method: Callable[..., Awaitable[Any]]) -> Any:
    """``method``, refusing with ``UpstreamUnavailable`` until ``deadline[0]`` (monotonic)."""

    async def call(*args: Any, **kwargs: Any) -> Any:
        if time.monotonic() < deadline[0]:
            raise UpstreamUnavailable(f"The {what} is unavailable.")
        return await method(*args, **kwargs)

    return call


@pytest.mark.parametrize(
    ("dependency", "methods"),
    [
        ("vector store", ("newest_version", "count", "list_chunks", "upsert")),
        ("embedder", ("embed_documents",)),
    ],
)
async def test_a_job_is_indexed_after_its_dependency_comes_back(
    host: ProcessHost, monkeypatch: pytest.MonkeyPatch, dependency: str, methods: tuple[str, ...]
) -> None:
    deadline = [float("-inf")]
    target = await (host.vector_store() if dependency == "vector store" else host.embedder())
    for name in methods:
        monkeypatch.setattr(target, name, _down_until(deadline, dependency, getattr(target, name)))
    broker = await host.broker()
    seen: list[Delivery] = []
    statuses: list[JobStatus] = []
    indexed = anyio.Event()
    subscribe = broker.consume

    async def recording_consume(queue: QueueName, handler: Handler, *, prefetch: int) -> None:
        async def record(delivery: Delivery) -> None:
            seen.append(delivery)
            await handler(delivery)

        await subscribe(queue, record, prefetch=prefetch)

    monkeypatch.setattr(broker, "consume", recording_consume)
    await IngestionComponent(IngestionSettings()).start(host)

    async def status(delivery: Delivery) -> None:
        message = parse_message(delivery.body)
        assert isinstance(message, JobStatusChanged)
        statuses.append(message.status)
        if message.status is JobStatus.INDEXED:
            indexed.set()

    await subscribe(QueueName.JOB_EVENTS, status, prefetch=4)

    deadline[0] = time.monotonic() + OUTAGE_S
    await broker.publish(
        DocumentIngestRequested(
            tenant_id=TENANT,
            document_id="doc_o",
            job_id="job_o",
            version=1,
            title="Ducks",
            source_name="ducks.txt",
            content_type="text/plain",
            content=b"Ducks paddle on the lake all day long.",
            content_hash="h1",
        ),
        routing_key=ROUTING_INGEST,
    )
    with anyio.fail_after(15):
        await indexed.wait()

    store = await host.vector_store()
    assert await store.count(TENANT, "doc_o") > 0
    assert JobStatus.FAILED not in statuses
    assert await broker.queue_depth(QueueName.DEAD_LETTERS) == 0
    assert [delivery.attempt for delivery in seen] == list(range(len(seen)))
    assert len(seen) > 1, "the outage never reached the worker"
    assert not any(delivery.redelivered for delivery in seen)
