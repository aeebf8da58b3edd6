"""The embedding indexes one process holds: an embedder and its vector store per model spec.

Reindexing (issue 15) makes a process use more than one embedding model at a time: the worker
writes uploads to the active and the building index, retrieval reads whichever the gateway
names. Each index is opened on first use, its model loaded (``warm_up``) before it is handed
out, and kept for the process's life; what it opened closes with the process's exit stack.

Two specs whose embedders share a collection (``torch`` and ``onnx-int8`` both write the MiniLM
vectors) are one index: they resolve to the same :attr:`EmbeddingIndex.key` and share its
store, which an embedded Edge shard requires anyway (one opener per path and process).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

import structlog

from ragline_common.adapters.factory import model_slug, open_embedder, open_vector_store
from ragline_common.indexing.model_spec import ModelSpec, UnknownIndexModel
from ragline_common.indexing.tombstones import Tombstones, open_tombstones
from ragline_common.ports.embedder import Embedder
from ragline_common.ports.vector_store import VectorStore
from ragline_common.settings import EmbedderSettings, InfrastructureSettings

__all__ = [
    "DropAwareIndexes",
    "EmbedderOpener",
    "EmbeddingIndex",
    "EmbeddingIndexes",
    "Indexes",
    "StoreOpener",
    "UnknownIndexModel",
    "index_key",
]

_log = structlog.get_logger(__name__)

EmbedderOpener = Callable[[EmbedderSettings, AsyncExitStack], Awaitable[Embedder]]
"""Builds an embedder (not warmed up), registering its cleanup on the stack."""
StoreOpener = Callable[[InfrastructureSettings, AsyncExitStack, Embedder], Awaitable[VectorStore]]
"""Opens the vector store of an embedder's vectors, registering its close on the stack."""
TombstonesOpener = Callable[[InfrastructureSettings, AsyncExitStack], Awaitable[Tombstones]]


def index_key(embedder: Embedder) -> str:
    """The collection (or shard) an embedder's vectors live in: its model and dimension."""
    return f"{model_slug(embedder.model_id)}-{embedder.dimension}"


@dataclass(frozen=True)
class EmbeddingIndex:
    """One model's index: the embedder that writes and queries it, and the store it lives in."""

    spec: ModelSpec
    """The spec that opened it (another spec with the same :attr:`key` shares it)."""
    embedder: Embedder
    store: VectorStore
    key: str


class Indexes(Protocol):
    """What a service needs of the process's indexes (the worker drops; everyone opens)."""

    async def index(self, spec: ModelSpec | None = None) -> EmbeddingIndex:
        """The index of ``spec`` (None: the process's default), opened on first use."""

    async def drop(self, spec: ModelSpec) -> None:
        """Delete ``spec``'s whole index and forget it; a later use creates it anew, empty."""


@runtime_checkable
class DropAwareIndexes(Indexes, Protocol):
    """Indexes that remember drops (:mod:`.tombstones`), so a late writer cannot recreate one.

    A capability rather than part of :class:`Indexes`: a writer asks for it where it can be had
    and otherwise opens as before (stand-ins in tests keep no tombstones).
    """

    async def writable(
        self, spec: ModelSpec | None, *, sent_at: datetime, rebuilds: bool
    ) -> EmbeddingIndex | None:
        """The index of ``spec`` for a message sent at ``sent_at``, or None when it was dropped
        for that message: sent before the drop, or not a reindex task of it (``rebuilds``),
        which alone may create a dropped index again."""

    async def drop(self, spec: ModelSpec, *, at: datetime | None = None) -> None:
        """Delete ``spec``'s whole index and forget it, leaving a tombstone dated ``at`` (the
        drop request's time) when given; a later use creates it anew, empty."""


class EmbeddingIndexes:
    """Opens and caches :class:`EmbeddingIndex` per spec (implements
    :class:`DropAwareIndexes`).

    ``open_embedder``/``open_store`` default to the adapter factory; tests pass fakes.
    """

    def __init__(
        self,
        settings: InfrastructureSettings,
        stack: AsyncExitStack,
        *,
        open_embedder: EmbedderOpener = open_embedder,
        open_store: StoreOpener = open_vector_store,
        open_graves: TombstonesOpener = open_tombstones,
    ) -> None:
        self._settings = settings
        self._stack = stack
        self._open_embedder = open_embedder
        self._open_store = open_store
        self._open_graves = open_graves
        self._graves: Tombstones | None = None
        self.default_spec = ModelSpec.default(settings.embedder)
        self._by_spec: dict[ModelSpec, EmbeddingIndex] = {}
        self._by_key: dict[str, EmbeddingIndex] = {}
        # One lock for opening: opening is rare (once per model and process), and a single lock
        # keeps two specs of one key from opening its store twice.
        self._lock = asyncio.Lock()

    def opened(self) -> list[EmbeddingIndex]:
        """The indexes open now, one per key (for readiness checks and diagnostics)."""
        return list(self._by_key.values())

    async def index(self, spec: ModelSpec | None = None) -> EmbeddingIndex:
        wanted = self.default_spec if spec is None else spec
        found = self._by_spec.get(wanted)
        if found is not None:
            return found
        async with self._lock:
            found = self._by_spec.get(wanted)
            if found is None:
                found = await self._open(wanted)
                assert found is not None  # a reader's open is never refused
                self._by_spec[wanted] = found
            return found

    async def writable(
        self, spec: ModelSpec | None, *, sent_at: datetime, rebuilds: bool
    ) -> EmbeddingIndex | None:
        wanted = self.default_spec if spec is None else spec
        found = self._by_spec.get(wanted)
        if found is not None:
            return found  # open in this process, so not dropped since (a drop forgets it)
        async with self._lock:
            found = self._by_spec.get(wanted)
            if found is None:
                found = await self._open(wanted, sent_at=sent_at, rebuilds=rebuilds)
                if found is not None:
                    self._by_spec[wanted] = found
            return found

    async def drop(self, spec: ModelSpec, *, at: datetime | None = None) -> None:
        index = await self.index(spec)
        async with self._lock:
            if at is not None:
                # Before the data goes: a writer opening the index from now on sees the drop.
                await (await self._tombstones()).bury(index.key, at)
            self._by_key.pop(index.key, None)
            for alias in [s for s, i in self._by_spec.items() if i.key == index.key]:
                del self._by_spec[alias]
            await index.store.drop()
        _log.info("index_dropped", index_model=str(spec), key=index.key)

    async def _tombstones(self) -> Tombstones:
        if self._graves is None:
            self._graves = await self._open_graves(self._settings, self._stack)
        return self._graves

    async def _open(
        self, spec: ModelSpec, *, sent_at: datetime | None = None, rebuilds: bool = False
    ) -> EmbeddingIndex | None:
        """Open ``spec``'s index (readers: always; writers, with ``sent_at``: unless dropped
        for their message, see :meth:`writable`)."""
        embedder = await self._open_embedder(
            spec.settings_for(self._settings.embedder), self._stack
        )
        key = index_key(embedder)
        shared = self._by_key.get(key)
        if shared is not None:
            # Same collection: keep the embedder already open rather than load a second copy.
            return shared
        wipe = False
        if sent_at is not None:
            graves = await self._tombstones()
            dropped_at = await graves.dropped_at(key)
            if dropped_at is not None:
                if not rebuilds or sent_at <= dropped_at:
                    _log.warning("dropped_index_not_written", index_model=str(spec), key=key)
                    return None
                wipe = True  # a reindex started after the drop: build afresh
        # Loaded before the first caller uses it: a model loads once, never per call.
        await embedder.warm_up()
        store = await self._open_store(self._settings, self._stack, embedder)
        if wipe:
            # Whatever a writer that raced the drop left there goes before the rebuild.
            await store.drop()
            store = await self._open_store(self._settings, self._stack, embedder)
            await (await self._tombstones()).lift(key)
        index = EmbeddingIndex(spec=spec, embedder=embedder, store=store, key=key)
        self._by_key[key] = index
        _log.info("index_opened", index_model=str(spec), key=key)
        return index
