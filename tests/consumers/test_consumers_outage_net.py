"""Every consumer in Ragline maps a dependency outage to a delayed retry (defect 4, the net).

The consumers are not listed here: the whole suite is started, as ``ragline run --target all``
builds it, on an in-process broker whose ``consume`` records each registration. A consumer added
later is therefore tested without anyone remembering to. Each one then handles a genuine message
of its queue (published through the broker, or a producer's intake message) while one
dependency at a time is down (the catalog, the vector store, the embedder, the broker itself),
and is settled by the real ``settle()``:

- it must never requeue (that spends the queue's delivery limit in milliseconds) nor
  dead-letter (the work would be lost to an operator's queue);
- with at least one of the outages it must schedule a delayed retry, which proves the message
  reached its dependencies (an ack under an outage is only acceptable when the handler hands the
  work to something that retries by itself, as the dispatcher's sweeper does).

A consumer of a queue without a sample message below fails the test with the queue's name.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from asgi_lifespan import LifespanManager

from ragline_cli.runner import SERVICE_NAMES, build_app
from ragline_common.adapters.broker.memory import MemoryBroker
from ragline_common.adapters.broker.settlement import settle
from ragline_common.errors import PermanentProcessingError, UpstreamUnavailable
from ragline_common.hosting import Host
from ragline_common.messages import JobStatus, JobStatusChanged, parse_message
from ragline_common.ports.broker import Delivery, Handler
from ragline_common.ports.embedder import Embedder
from ragline_common.ports.vector_store import VectorStore
from ragline_common.settings import CoreSettings
from ragline_common.topology import (
    INTAKE_API_KEY_HEADER,
    PARKING_QUEUES,
    ROUTING_INGEST,
    ROUTING_JOB_STATUS,
    QueueName,
)
from ragline_gateway.adapters.catalog import sql_catalog
from ragline_gateway.adapters.catalog.engine import unavailable_on_outage
from ragline_testing.harness import embedded_settings

ADMIN_TOKEN = "operator-token-for-the-outage-net-0123"
REFUSE_HEADER = "x-test-refuse"
"""Set on a message this test wants parked, to get a genuine dead letter."""
DEPENDENCIES = ("catalog", "vector store", "embedder", "broker")


class Outages:
    """Which dependency is down now, and how often each refused a call."""

    def __init__(self) -> None:
        self.down: str | None = None
        self.refused: dict[str, int] = dict.fromkeys(DEPENDENCIES, 0)

    def check(self, dependency: str) -> None:
        if self.down == dependency:
            self.refused[dependency] += 1
            raise UpstreamUnavailable(f"The {dependency} is unavailable.")

    @contextmanager
    def of(self, dependency: str) -> Iterator[None]:
        self.down = dependency
        try:
            yield
        finally:
            self.down = None


@dataclass
class Registrations:
    """What ``consume`` was asked for, and the messages each queue received meanwhile."""

    handlers: list[tuple[QueueName, Handler]] = field(default_factory=list)
    received: dict[QueueName, list[Delivery]] = field(default_factory=dict)


class RecordingSettlement:
    def __init__(self) -> None:
        self.outcome = "unsettled"

    async def ack(self) -> None:
        if self.outcome == "unsettled":
            self.outcome = "ack"

    async def requeue(self) -> None:
        self.outcome = "requeue"

    async def dead_letter(self, routing_key: str, headers: Mapping[str, str]) -> None:
        self.outcome = "dead_letter"

    async def retry_later(self, delay_s: float, headers: Mapping[str, str]) -> None:
        self.outcome = "retry"


def _port_methods(port: type) -> list[str]:
    """The data methods of a port Protocol (not its lifecycle)."""
    return [
        name
        for name, member in vars(port).items()
        if inspect.iscoroutinefunction(member) and name not in {"open", "close", "ping"}
    ]


def _refusing(outages: Outages, dependency: str, method: Callable[..., Any]) -> Any:
    async def call(*args: Any, **kwargs: Any) -> Any:
        outages.check(dependency)
        return await method(*args, **kwargs)

    return call


@pytest.fixture
def outages() -> Outages:
    return Outages()


@pytest.fixture
def registrations(monkeypatch: pytest.MonkeyPatch) -> Registrations:
    """The in-process broker records every ``consume`` and stands in a capturing handler."""
    recorded = Registrations()
    subscribe = MemoryBroker.consume

    async def consume(
        self: MemoryBroker, queue: QueueName, handler: Handler, *, prefetch: int
    ) -> None:
        recorded.handlers.append((queue, handler))

        async def capture(delivery: Delivery) -> None:
            recorded.received.setdefault(queue, []).append(delivery)
            if REFUSE_HEADER in delivery.headers and queue not in PARKING_QUEUES:
                raise PermanentProcessingError("refused by the test to park it", code="test")

        await subscribe(self, queue, capture, prefetch=prefetch)

    monkeypatch.setattr(MemoryBroker, "consume", consume)
    return recorded


@pytest.fixture
async def suite(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    outages: Outages,
    registrations: Registrations,
) -> AsyncIterator[tuple[Host, httpx.AsyncClient]]:
    """Every service in one process (the monolithic build), dependencies ready to fail."""

    @contextmanager
    def catalog_guard() -> Iterator[None]:
        outages.check("catalog")
        with unavailable_on_outage():
            yield

    monkeypatch.setattr(sql_catalog, "unavailable_on_outage", catalog_guard)
    settings = embedded_settings(
        CoreSettings(data_dir=tmp_path, admin_token=ADMIN_TOKEN, shutdown_grace_s=1.0),
        hash_dimension=64,
    )
    app = build_app(frozenset(SERVICE_NAMES), settings)
    async with LifespanManager(app) as manager:
        host: Host = app.state.host
        store = await host.vector_store()
        for name in _port_methods(VectorStore):
            monkeypatch.setattr(
                store, name, _refusing(outages, "vector store", getattr(store, name))
            )
        embedder = await host.embedder()
        for name in _port_methods(Embedder):
            monkeypatch.setattr(
                embedder, name, _refusing(outages, "embedder", getattr(embedder, name))
            )
        broker = await host.broker()
        for name in ("publish", "publish_reply"):
            monkeypatch.setattr(broker, name, _refusing(outages, "broker", getattr(broker, name)))
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ragline") as client:
            yield host, client


async def _tenant_key(client: httpx.AsyncClient) -> str:
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    tenant = await client.post("/v1/tenants", json={"name": "net"}, headers=admin)
    assert tenant.status_code == 201, tenant.text
    key = await client.post(
        f"/v1/tenants/{tenant.json()['id']}/keys", json={"scopes": ["ingest"]}, headers=admin
    )
    assert key.status_code == 201, key.text
    return str(key.json()["key"])


async def _arrived(registrations: Registrations, queue: QueueName) -> list[Delivery]:
    """The deliveries ``queue`` received, once there is one (the broker delivers in tasks)."""
    for _ in range(1000):
        if registrations.received.get(queue):
            return registrations.received[queue]
        await anyio.sleep(0.01)
    pytest.fail(f"nothing arrived on {queue.value}")


async def _samples(
    host: Host, client: httpx.AsyncClient, registrations: Registrations
) -> dict[QueueName, Delivery]:
    """One genuine message per queue, produced by the suite's own flows where it has them."""
    key = await _tenant_key(client)
    upload = await client.post(
        "/v1/documents",
        json={"title": "Ducks", "text": "Ducks paddle on the lake all day long."},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert upload.status_code == 202, upload.text
    broker = await host.broker()
    [job] = await _arrived(registrations, QueueName.INGESTION)
    request = parse_message(job.body)
    # The worker's report, and a copy of the job that a worker refuses (a real dead letter).
    await broker.publish(
        JobStatusChanged(
            tenant_id=request.tenant_id,
            job_id=upload.json()["job_id"],
            document_id=upload.json()["document_id"],
            version=1,
            status=JobStatus.INDEXED,
            chunk_count=1,
        ),
        routing_key=ROUTING_JOB_STATUS,
    )
    await broker.publish(request, routing_key=ROUTING_INGEST, headers={REFUSE_HEADER: "1"})
    await _arrived(registrations, QueueName.DEAD_LETTER_EVENTS)
    await _arrived(registrations, QueueName.JOB_EVENTS)
    intake = Delivery(
        body=json.dumps(
            {"schema": "ragline.intake.document.v1", "title": "Notes", "text": "It hums."}
        ).encode(),
        routing_key="document",
        headers={INTAKE_API_KEY_HEADER: key},
    )
    samples = {queue: deliveries[0] for queue, deliveries in registrations.received.items()}
    samples[QueueName.INTAKE] = intake
    return samples


async def test_every_registered_consumer_retries_outages_later(
    suite: tuple[Host, httpx.AsyncClient], outages: Outages, registrations: Registrations
) -> None:
    host, client = suite
    discovered = {queue for queue, _ in registrations.handlers}
    # The suite as built today; more is fine (and gets tested), fewer means a start failed.
    assert {
        QueueName.INGESTION,
        QueueName.JOB_EVENTS,
        QueueName.INTAKE,
        QueueName.DEAD_LETTER_EVENTS,
    } <= discovered
    samples = await _samples(host, client, registrations)
    missing = discovered - set(samples)
    assert not missing, f"add a sample message for the consumers of {sorted(missing)}"

    outcomes: dict[str, dict[str, str]] = {}
    for queue, handler in registrations.handlers:
        name = f"{queue.value}:{getattr(handler, '__qualname__', type(handler).__qualname__)}"
        outcomes[name] = {}
        for dependency in DEPENDENCIES:
            settlement = RecordingSettlement()
            with outages.of(dependency):
                await settle(
                    handler, samples[queue], settlement, queue=queue, retry_delays_s=(1.0,)
                )
            outcomes[name][dependency] = settlement.outcome

    for name, by_dependency in outcomes.items():
        lost = {dep: out for dep, out in by_dependency.items() if out not in ("retry", "ack")}
        assert not lost, f"{name} does not retry outages later: {lost}"
        assert "retry" in by_dependency.values(), (
            f"{name} never reached a dependency: {by_dependency}"
        )
    assert all(outages.refused.values()), f"a dependency was never called: {outages.refused}"
