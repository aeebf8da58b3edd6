"""Helpers for the test suites of every package (importable, tiny, no pytest plugin magic).

Under ``CI=true`` a missing service is a failure, never a skip: CI must prove the integration
paths, while a developer without RabbitMQ still gets a clean run of everything else.

Like ``pytest``, ``uvicorn`` is imported here although ``ragline-common`` does not depend on it:
only test suites import this module, and they run in the workspace environment, which has both.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from types import ModuleType

import pytest
import uvicorn
from fastapi import APIRouter, FastAPI
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from starlette.types import ASGIApp

from ragline_common.problem import install_problem_handlers
from ragline_common.settings import (
    BrokerSettings,
    CatalogSettings,
    CoreSettings,
    EmbedderSettings,
    InfrastructureSettings,
    VectorStoreSettings,
)
from ragline_testing.process import unused_port as unused_port  # re-exported

LOOPBACK = "127.0.0.1"
SERVER_START_TIMEOUT_S = 10.0


def service_reachable(host: str, port: int, timeout_s: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def require_service(host: str, port: int, name: str) -> None:
    """Skip the calling test when ``name`` is down, or fail under CI."""
    if service_reachable(host, port):
        return
    message = f"{name} is not reachable at {host}:{port}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message} (CI=true: integration services are mandatory)")
    pytest.skip(message)


def embedded_settings(
    core: CoreSettings,
    *,
    hash_dimension: int | None = None,
    broker: BrokerSettings | None = None,
    catalog: CatalogSettings | None = None,
) -> InfrastructureSettings:
    """A process that needs nothing else running: in-memory broker, the catalog in SQLite and
    the vector store in Qdrant Edge (both under ``core.data_dir``), and the hash embedder.

    Every kind is named, not left to its default, so a ``RAGLINE_*`` variable in the developer's
    environment cannot turn a unit test into one that needs RabbitMQ or loads a model.
    ``broker`` and ``catalog`` replace the embedded ones for tests that need the real thing.
    """
    embedder = (
        EmbedderSettings(kind="hash")
        if hash_dimension is None
        else EmbedderSettings(kind="hash", hash_dimension=hash_dimension)
    )
    return InfrastructureSettings(
        core=core,
        broker=broker or BrokerSettings(kind="memory"),
        catalog=catalog or CatalogSettings(url=None),
        vector_store=VectorStoreSettings(kind="edge"),
        embedder=embedder,
    )


def problem_app(*routers: APIRouter) -> FastAPI:
    """A bare app serving ``routers`` with errors rendered as the host renders them (problem+json).

    For route tests that need no middleware or lifespan, only the routes and the error contract.
    """
    app = FastAPI()
    for router in routers:
        app.include_router(router)
    install_problem_handlers(app)
    return app


@asynccontextmanager
async def serve_asgi(app: ASGIApp) -> AsyncIterator[str]:
    """Serve ``app`` with a real uvicorn server on a free loopback port; yields its base URL.

    API tests go through ``httpx.ASGITransport``; this is for the HTTP clients, whose timeouts,
    connection handling and error mapping only show against a real socket. The app's lifespan
    is not run: tests hand in apps whose dependencies they built themselves.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning"))
        task = asyncio.create_task(server.serve(sockets=[sock]))
        try:
            async with asyncio.timeout(SERVER_START_TIMEOUT_S):
                while not server.started:
                    if task.done():
                        task.result()  # re-raises why the server could not start
                    await asyncio.sleep(0.01)
            yield f"http://{LOOPBACK}:{sock.getsockname()[1]}"
        finally:
            server.should_exit = True
            await task


@dataclass
class SpanRecorder:
    tracer: trace.Tracer
    exporter: InMemorySpanExporter

    def named(self, name: str) -> ReadableSpan:
        """The one finished span called ``name`` (fails if there are none or several)."""
        [span] = [s for s in self.exporter.get_finished_spans() if s.name == name]
        return span


@contextmanager
def recording_spans(
    monkeypatch: pytest.MonkeyPatch, *modules: ModuleType
) -> Iterator[SpanRecorder]:
    """Swap each module's ``_tracer`` for one that records in memory, with the test's own.

    A local provider rather than the global one: the global provider can be set only once per
    process, and no other test should see a recording tracer.
    """
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    for module in modules:
        monkeypatch.setattr(module, "_tracer", tracer)
    try:
        yield SpanRecorder(tracer, exporter)
    finally:
        provider.shutdown()
