"""What a service sees of the process that hosts it (the ``--target`` model).

A process hosts any set of services (the command-line package puts it together). Each service
gets a :class:`Host`: the settings, one exit stack that closes resources in reverse order,
readiness-check registration, and adapters shared by every service in the process. Sharing
matters for more than memory: an embedded vector store allows one process per storage path, and
the embedding model should be loaded once.

Services that call one another declare it, so the process can order them and connect them:
a component *provides* an :class:`Api` (retrieval provides :data:`SEARCH_API`) and *requires*
one through a :class:`Requirement` (the gateway requires both). A requirement met by a
co-hosted service is the in-process object; otherwise the requirement's ``remote`` builds a
client of the service in another process.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from ragline_common.contracts.answer import AnswerApi
from ragline_common.contracts.search import SearchApi
from ragline_common.http.ops import ReadinessCheck
from ragline_common.indexing.indexes import Indexes
from ragline_common.ports.broker import Broker
from ragline_common.ports.embedder import Embedder
from ragline_common.ports.vector_store import VectorStore
from ragline_common.settings import InfrastructureSettings

T = TypeVar("T")


@dataclass(frozen=True)
class Api(Generic[T]):
    """The name of an API one service offers another; ``T`` is the Protocol it implements.

    A typed key, not the Protocol class itself: a Protocol cannot stand where a ``type[T]``
    is expected, and a key keeps the API a process wires distinct from the type that checks it.
    """

    name: str


SEARCH_API: Api[SearchApi] = Api("SearchApi")
"""Ranked chunks of one tenant; provided by retrieval."""
ANSWER_API: Api[AnswerApi] = Api("AnswerApi")
"""Grounded answers with citations; provided by generation."""


class Host(Protocol):
    """The process's shared resources, as every hosted service may use them."""

    @property
    def settings(self) -> InfrastructureSettings: ...

    @property
    def stack(self) -> AsyncExitStack:
        """Closes what a service opens, in reverse order, when the process stops."""

    @property
    def checks(self) -> dict[str, ReadinessCheck]:
        """``/readyz`` runs every check registered here; a shared adapter registers once."""

    async def broker(self) -> Broker: ...

    async def embedder(self) -> Embedder:
        """The default index's embedder (the others: :attr:`indexes`)."""

    async def vector_store(self) -> VectorStore:
        """The default index's vector store (the others: :attr:`indexes`)."""

    @property
    def indexes(self) -> Indexes:
        """Every index of the process, for a service that opens them by name or drops one."""


class ComponentHost(Host, Protocol):
    """The host as one service sees it while it starts: the shared resources, and its wiring.

    Only what the service declared is allowed: providing an API it did not list in
    ``provides``, or requiring one it did not list in ``requires``, is a wiring error.
    """

    def provide(self, api: Api[T], implementation: T) -> None:
        """Hand a started API to the services that require it in this process."""

    def require(self, api: Api[T]) -> T:
        """The API from a co-hosted service, or else the requirement's remote client."""


@dataclass(frozen=True)
class Requirement(Generic[T]):
    """An API a service calls, and how to reach it when no co-hosted service provides it.

    ``remote`` builds a client of the API served by another process (it may register its
    own readiness check and cleanup on the host). Without one, the API must be provided in
    the same process, and a process that lacks it refuses to start.
    """

    api: Api[T]
    remote: Callable[[Host], T] | None = None


async def ping_default_index(host: Host) -> None:
    """Readiness of the default index as it is now: once dropped (its model retired by a
    reindex), the next use opens it afresh, so a ping of the first store would fail forever."""
    await (await host.vector_store()).ping()
