"""The resources one process shares among the services it hosts, and each service's view of them.

:class:`ProcessHost` opens each shared adapter once, on first use, on the process's exit stack.
:class:`WiredHost` is what one component gets while it starts: the same resources, and the
APIs it declared. Its providers started before it (:func:`ragline_cli.wiring.start_order`), so
what it requires is there when it asks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection, Mapping
from contextlib import AsyncExitStack
from typing import Any, TypeVar, cast

from ragline_common.adapters.factory import open_broker
from ragline_common.hosting import Api, Requirement
from ragline_common.http.ops import ReadinessCheck
from ragline_common.indexing.indexes import EmbeddingIndexes, Indexes
from ragline_common.ports.broker import Broker
from ragline_common.ports.embedder import Embedder
from ragline_common.ports.vector_store import VectorStore
from ragline_common.settings import InfrastructureSettings

T = TypeVar("T")


class WiringError(RuntimeError):
    """Services declared APIs that do not fit together; the process refuses to start."""


class ProcessHost:
    """The shared resources of one process (implements :class:`ragline_common.hosting.Host`)."""

    def __init__(
        self,
        settings: InfrastructureSettings,
        stack: AsyncExitStack,
        checks: dict[str, ReadinessCheck] | None = None,
    ) -> None:
        self._settings = settings
        self._stack = stack
        self._checks: dict[str, ReadinessCheck] = checks if checks is not None else {}
        self._shared: dict[str, Any] = {}
        # One lock per resource: building the vector store needs the embedder, so a single
        # process-wide lock would deadlock.
        self._locks: dict[str, asyncio.Lock] = {}
        self._indexes = EmbeddingIndexes(settings, stack)

    @property
    def settings(self) -> InfrastructureSettings:
        return self._settings

    @property
    def stack(self) -> AsyncExitStack:
        return self._stack

    @property
    def checks(self) -> dict[str, ReadinessCheck]:
        return self._checks

    async def broker(self) -> Broker:
        return await self._shared_resource(
            "broker", lambda: open_broker(self._settings, self._stack)
        )

    async def embedder(self) -> Embedder:
        return (await self._indexes.index()).embedder

    async def vector_store(self) -> VectorStore:
        return (await self._indexes.index()).store

    @property
    def indexes(self) -> Indexes:
        return self._indexes

    async def _shared_resource(self, name: str, build: Callable[[], Awaitable[T]]) -> T:
        async with self._locks.setdefault(name, asyncio.Lock()):
            if name not in self._shared:
                self._shared[name] = await build()
            return cast("T", self._shared[name])


class WiredHost:
    """One component's view of the process (a :class:`~ragline_common.hosting.ComponentHost`).

    ``provided`` is the process-wide table of started APIs, filled as components start in
    dependency order, so a requirement met in-process is always there when it is asked for.
    """

    def __init__(
        self,
        process: ProcessHost,
        component: str,
        *,
        provides: Collection[Api[Any]],
        requires: Collection[Requirement[Any]],
        provided: dict[Api[Any], Any],
    ) -> None:
        self._process = process
        self._component = component
        self._provides = frozenset(provides)
        self._requires: Mapping[Api[Any], Requirement[Any]] = {
            requirement.api: requirement for requirement in requires
        }
        self._provided = provided

    @property
    def settings(self) -> InfrastructureSettings:
        return self._process.settings

    @property
    def stack(self) -> AsyncExitStack:
        return self._process.stack

    @property
    def checks(self) -> dict[str, ReadinessCheck]:
        return self._process.checks

    async def broker(self) -> Broker:
        return await self._process.broker()

    async def embedder(self) -> Embedder:
        return await self._process.embedder()

    async def vector_store(self) -> VectorStore:
        return await self._process.vector_store()

    @property
    def indexes(self) -> Indexes:
        return self._process.indexes

    def provide(self, api: Api[T], implementation: T) -> None:
        if api not in self._provides:
            raise WiringError(f"{self._component} provides {api.name} without declaring it")
        self._provided[api] = implementation

    def require(self, api: Api[T]) -> T:
        requirement = self._requires.get(api)
        if requirement is None:
            raise WiringError(f"{self._component} requires {api.name} without declaring it")
        if api in self._provided:
            return cast("T", self._provided[api])
        if requirement.remote is None:
            # start_order refuses such a process before anything starts; this is the backstop.
            raise WiringError(
                f"{self._component} requires {api.name}, which no service in this process provides"
            )
        return cast("T", requirement.remote(self))

    def missing_provisions(self) -> list[str]:
        """The APIs this component declared but did not provide while it started."""
        return sorted(api.name for api in self._provides if api not in self._provided)
