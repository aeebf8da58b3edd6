"""``/readyz`` names the dependency that fails, answers 503, and never hangs.

Each dependency of a real gateway (PostgreSQL catalog, RabbitMQ broker, Redis rate limiter,
retrieval and generation over HTTP) is reached through a loopback TCP proxy, so a test can cut
the link (a crashed or unreachable dependency: connections reset, new ones refused) or stall
it (a hung one: connections accepted, nothing answered) without touching the shared servers.
Each test breaks one dependency and expects 503 with exactly that check failing; a stalled one
must still be reported within the readiness timeout (3 s per check) plus a margin. The
services that host the vector store (retrieval, ingestion) are checked with the real embedded
store closed under them, and the in-process broker likewise.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from pydantic import SecretStr

from ragline_cli.assembly import assemble_app
from ragline_cli.runner import build_app
from ragline_common.adapters.broker.rabbitmq import delete_topology
from ragline_common.hosting import Host
from ragline_common.settings import (
    BrokerSettings,
    CatalogSettings,
    CoreSettings,
    InfrastructureSettings,
)
from ragline_gateway.component import GatewayComponent
from ragline_gateway.settings import GatewaySettings
from ragline_testing.harness import embedded_settings, require_service, serve_asgi
from ragline_testing.postgres import scratch_database

pytestmark = pytest.mark.integration

LOOPBACK = "127.0.0.1"
RABBITMQ_PORT, REDIS_PORT, POSTGRES_PORT = 5672, 6379, 5432
READY_BUDGET_S = 4.5
"""The 3 s per-check timeout, plus the margin a loaded two-core machine needs."""
DETECT_BUDGET_S = 10.0
"""How long a cut link may take to be noticed: a client learns of a reset connection
asynchronously, so the first /readyz after the cut may still see it open."""
ADMIN_TOKEN = secrets.token_hex(16)
INTERNAL_TOKEN = secrets.token_hex(16)


class TcpProxy:
    """A loopback TCP forwarder to ``target_port`` whose link can be cut or stalled."""

    def __init__(self, target_port: int) -> None:
        self._target_port = target_port
        self._server: asyncio.Server | None = None
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._pipes: set[asyncio.Task[None]] = set()
        self.port = 0

    async def start(self) -> TcpProxy:
        self._server = await asyncio.start_server(self._accept, LOOPBACK, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def restore(self) -> None:
        """Forward again, on the same port: clients that reconnect find the dependency back."""
        self.resume()
        if self._server is None:
            await self.start()

    def stall(self) -> None:
        """Hold every byte in both directions: open connections and new ones just wait."""
        self._flowing.clear()

    def resume(self) -> None:
        self._flowing.set()

    async def cut(self) -> None:
        """Reset every connection and refuse new ones, like a dependency that went away."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        for pipe in list(self._pipes):
            pipe.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)

    async def close(self) -> None:
        self.resume()
        await self.cut()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(
                LOOPBACK, self._target_port
            )
        except OSError:
            writer.transport.abort()
            return
        self._writers.add(upstream_writer)
        for source, sink in ((reader, upstream_writer), (upstream_reader, writer)):
            pipe = asyncio.create_task(self._pipe(source, sink))
            self._pipes.add(pipe)
            pipe.add_done_callback(self._pipes.discard)

    async def _pipe(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while data := await source.read(65536):
                await self._flowing.wait()
                sink.write(data)
                await sink.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            sink.transport.abort()


@dataclass
class Readiness:
    status: int
    checks: dict[str, str]
    elapsed_s: float


async def readyz(app: Any) -> Readiness:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://ragline") as client:
        started = time.monotonic()
        async with asyncio.timeout(READY_BUDGET_S * 2):  # a hang fails the test, not the suite
            response = await client.get("/readyz")
        elapsed = time.monotonic() - started
    return Readiness(response.status_code, response.json()["checks"], elapsed)


async def until_failing(app: Any, check: str) -> Readiness:
    """/readyz until ``check`` fails; every answer within the readiness budget."""
    deadline = time.monotonic() + DETECT_BUDGET_S
    while True:
        ready = await readyz(app)
        assert ready.elapsed_s < READY_BUDGET_S, f"/readyz took {ready.elapsed_s:.1f} s"
        if ready.checks[check] != "ok" or time.monotonic() > deadline:
            return ready
        await asyncio.sleep(0.2)


def assert_only_failing(ready: Readiness, check: str, expected: str) -> None:
    assert ready.status == 503, ready
    assert ready.checks[check] == expected, ready.checks
    others = {name: result for name, result in ready.checks.items() if name != check}
    assert all(result == "ok" for result in others.values()), ready.checks


def settings(
    data_dir: Path,
    *,
    broker: BrokerSettings | None = None,
    catalog: CatalogSettings | None = None,
) -> InfrastructureSettings:
    return embedded_settings(
        CoreSettings(
            data_dir=data_dir,
            admin_token=SecretStr(ADMIN_TOKEN),
            internal_token=SecretStr(INTERNAL_TOKEN),
            metrics_port=0,
        ),
        broker=broker,
        catalog=catalog,
    )


# -- a gateway with every dependency behind a proxy ---------------------------------------------


@pytest.fixture(scope="module")
def postgres_database() -> Iterator[str]:
    require_service(LOOPBACK, POSTGRES_PORT, "PostgreSQL")
    with scratch_database("ragline_readyz") as name:
        yield name


def _peer_app() -> FastAPI:
    """A retrieval or generation stand-in: the gateway's peer check asks only ``/healthz``."""
    app = FastAPI()

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


@dataclass
class ProxiedGateway:
    app: Any
    proxies: dict[str, TcpProxy]


@asynccontextmanager
async def proxied_gateway(tmp_path: Path, database: str) -> AsyncIterator[ProxiedGateway]:
    require_service(LOOPBACK, RABBITMQ_PORT, "RabbitMQ")
    require_service(LOOPBACK, REDIS_PORT, "Redis")
    namespace = f"readyz-{secrets.token_hex(4)}"
    async with serve_asgi(_peer_app()) as retrieval_url, serve_asgi(_peer_app()) as generation_url:
        upstreams = {
            "catalog": POSTGRES_PORT,
            "broker": RABBITMQ_PORT,
            "rate_limiter": REDIS_PORT,
            "retrieval": int(retrieval_url.rsplit(":", 1)[1]),
            "generation": int(generation_url.rsplit(":", 1)[1]),
        }
        proxies = {name: await TcpProxy(port).start() for name, port in upstreams.items()}
        gateway = GatewayComponent(
            GatewaySettings(
                key_pepper=SecretStr(secrets.token_hex(32)),
                rate_limiter="redis",
                redis_url=SecretStr(f"redis://{LOOPBACK}:{proxies['rate_limiter'].port}/0"),
                retrieval_url=f"http://{LOOPBACK}:{proxies['retrieval'].port}",
                generation_url=f"http://{LOOPBACK}:{proxies['generation'].port}",
            )
        )
        infra = settings(
            tmp_path,
            broker=BrokerSettings(
                kind="rabbitmq",
                url=SecretStr(f"amqp://guest:guest@{LOOPBACK}:{proxies['broker'].port}/"),
                namespace=namespace,
            ),
            catalog=CatalogSettings(
                url=SecretStr(
                    f"postgresql+asyncpg://postgres@{LOOPBACK}:{proxies['catalog'].port}/{database}"
                )
            ),
        )
        app = assemble_app([gateway], infra)
        try:
            async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60) as manager:
                try:
                    yield ProxiedGateway(manager.app, proxies)
                finally:
                    # Shutdown waits for the broker to settle with RabbitMQ: give every client
                    # its dependency back first, as an operator would.
                    for proxy in proxies.values():
                        await proxy.restore()
        finally:
            for proxy in proxies.values():
                await proxy.close()
            with suppress(Exception):
                await delete_topology(
                    f"amqp://guest:guest@{LOOPBACK}:{RABBITMQ_PORT}/", namespace, timeout_s=5
                )


async def test_a_healthy_gateway_is_ready(tmp_path: Path, postgres_database: str) -> None:
    """Guards the tests below: through the proxies, every check passes."""
    async with proxied_gateway(tmp_path, postgres_database) as gateway:
        ready = await readyz(gateway.app)
    assert ready.status == 200, ready
    assert ready.checks == dict.fromkeys(
        ["catalog", "broker", "rate_limiter", "retrieval", "generation"], "ok"
    )


Outage = Literal["cut", "stall"]
GATEWAY_OUTAGES: list[tuple[str, Outage, str]] = [
    ("catalog", "cut", "failed: UpstreamUnavailable"),
    ("catalog", "stall", "timeout"),
    ("broker", "cut", "failed: UpstreamUnavailable"),
    ("broker", "stall", "timeout"),
    ("rate_limiter", "cut", "failed: UpstreamUnavailable"),
    # The Redis client gives up after its own 1 s socket timeout, before the readiness timeout.
    ("rate_limiter", "stall", "failed: UpstreamUnavailable"),
    ("retrieval", "cut", "failed: UpstreamUnavailable"),
    ("retrieval", "stall", "timeout"),
    ("generation", "cut", "failed: UpstreamUnavailable"),
    ("generation", "stall", "timeout"),
]


@pytest.mark.parametrize(("check", "outage", "expected"), GATEWAY_OUTAGES)
async def test_a_gateway_dependency_outage_is_named_within_the_budget(
    tmp_path: Path, postgres_database: str, check: str, outage: Outage, expected: str
) -> None:
    async with proxied_gateway(tmp_path, postgres_database) as gateway:
        assert (await readyz(gateway.app)).status == 200
        proxy = gateway.proxies[check]
        if outage == "cut":
            await proxy.cut()
        else:
            proxy.stall()
        ready = await until_failing(gateway.app, check)
    assert_only_failing(ready, check, expected)


# -- the in-process broker and the embedded vector store, closed under a running service ---------


async def _host(app: FastAPI) -> Host:
    host: Host = app.state.host
    return host


@pytest.mark.parametrize(
    ("targets", "check"),
    [
        ({"retrieval"}, "vector_store"),
        ({"ingestion"}, "vector_store"),
        ({"ingestion"}, "broker"),
    ],
)
async def test_a_closed_store_or_broker_makes_its_service_unready(
    tmp_path: Path, targets: set[str], check: str
) -> None:
    app = build_app(frozenset(targets), settings(tmp_path))
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60) as manager:
        assert (await readyz(manager.app)).status == 200
        host = await _host(app)
        resource = await (host.vector_store() if check == "vector_store" else host.broker())
        await resource.close()
        ready = await until_failing(manager.app, check)
    assert_only_failing(ready, check, "failed: UpstreamUnavailable")


async def test_a_closed_in_process_broker_makes_the_gateway_unready(tmp_path: Path) -> None:
    gateway = GatewayComponent(GatewaySettings(rate_limiter="memory"))
    app = assemble_app([gateway], settings(tmp_path))
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60) as manager:
        host = await _host(app)
        await (await host.broker()).close()
        ready = await until_failing(manager.app, "broker")
    assert ready.status == 503
    assert ready.checks["broker"] == "failed: UpstreamUnavailable"
    assert ready.checks["catalog"] == ready.checks["rate_limiter"] == "ok"
