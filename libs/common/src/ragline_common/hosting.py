"""Hosting several services in one process (the ``--target`` model).

A process hosts any set of services. They share one :class:`Host`: the settings, one exit stack
that closes resources in reverse order, readiness checks, and adapters created once on first
use. Sharing matters for more than memory: an embedded vector store allows one process per
storage path, and the embedding model should be loaded once. A service that another hosted
service can call in-process sets its API on the host (``search_api``, ``answer_api``); the caller
uses it, and falls back to HTTP when the service lives elsewhere.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from typing import Any, Protocol, TypeVar, cast

from fastapi import APIRouter
from starlette.middleware import Middleware

from ragline_common.contracts.answer import AnswerApi
from ragline_common.contracts.search import SearchApi
from ragline_common.http.ops import ReadinessCheck
from ragline_common.ports.broker import Broker
from ragline_common.ports.embedder import Embedder
from ragline_common.ports.vector_store import VectorStore
from ragline_common.settings import InfrastructureSettings

T = TypeVar("T")

SERVICE_NAMES: tuple[str, ...] = ("gateway", "ingestion", "retrieval", "generation")


class Host:
    """What one process offers to the services it hosts."""

    def __init__(
        self,
        settings: InfrastructureSettings,
        stack: AsyncExitStack,
        targets: frozenset[str],
        checks: dict[str, ReadinessCheck] | None = None,
    ) -> None:
        self.settings = settings
        self.stack = stack
        self.targets = targets
        self.checks: dict[str, ReadinessCheck] = checks if checks is not None else {}
        self.search_api: SearchApi | None = None
        """Set by a hosted retrieval service, so a co-hosted gateway calls it in-process."""
        self.answer_api: AnswerApi | None = None
        """Set by a hosted generation service, likewise."""
        self._shared: dict[str, Any] = {}
        # One lock per resource: building the vector store needs the embedder, so a single
        # process-wide lock would deadlock.
        self._locks: dict[str, asyncio.Lock] = {}

    async def _shared_resource(self, name: str, build: Callable[[], Awaitable[T]]) -> T:
        async with self._locks.setdefault(name, asyncio.Lock()):
            if name not in self._shared:
                self._shared[name] = await build()
            return cast("T", self._shared[name])

    async def broker(self) -> Broker:
        from ragline_common.adapters.factory import open_broker

        return await self._shared_resource("broker", lambda: open_broker(self))

    async def embedder(self) -> Embedder:
        from ragline_common.adapters.factory import open_embedder

        return await self._shared_resource("embedder", lambda: open_embedder(self))

    async def vector_store(self) -> VectorStore:
        from ragline_common.adapters.factory import open_vector_store

        return await self._shared_resource("vector_store", lambda: open_vector_store(self))


class ServiceComponent(Protocol):
    """One service as the runner sees it."""

    @property
    def name(self) -> str: ...

    def routers(self, *, internal_api: bool) -> Sequence[APIRouter]:
        """Routers to mount; ``internal_api`` is False when the gateway shares the process
        and calls this service in-process, so internal endpoints need not be exposed."""

    def middleware(self) -> Sequence[Middleware]:
        """ASGI middleware this service needs around the whole app (e.g. body limits)."""

    async def start(self, host: Host) -> None:
        """Open resources on ``host.stack``, register checks and background tasks."""
