"""Tombstones of dropped indexes: a dropped index is never created again by a late writer.

Dropping an index (``index.drop.v1``) deletes its collection or shard, but a message sent
before the drop can still be on its way: a reindex task in flight, redelivered after its write
failed on the deleted store, or an upload that named the index a moment before. Opening the
index for it would create the collection again and write stale chunks into it, where a later
reindex to the same model would find them (deletes stopped reaching it at the drop).

So a drop leaves a tombstone: the index's key and the drop request's time. A writer opening an
index checks it first (only at opening: an index open in a process was not dropped since, a
drop forgets it): a message sent before the drop skips the index, and only a reindex task of
that very index sent after it (a new reindex started after the drop) removes the tombstone,
wiping whatever a straggler left, and builds afresh. Times are the gateway's ``occurred_at`` of
both messages (the drop's is set after the catalog stopped sending tasks for the index).

Where the tombstone lives follows the store, so every process that could create the index sees
it: beside the shards for Edge (one process owns them), and in a small collection of the Qdrant
server for Qdrant (shared by every worker replica).
"""

from __future__ import annotations

import json
import os
import uuid
from contextlib import AsyncExitStack
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import anyio

from ragline_common.settings import InfrastructureSettings

if TYPE_CHECKING:
    from qdrant_client import AsyncQdrantClient

_SUFFIX = ".dropped.json"
_NAMESPACE = uuid.UUID("6f1c2b0e-7d1a-4f55-9a43-0c7f3f8e2d11")


class Tombstones(Protocol):
    """When each dropped index (by key: collection or shard name) was dropped."""

    async def dropped_at(self, key: str) -> datetime | None: ...

    async def bury(self, key: str, at: datetime) -> None:
        """Record the drop (a redelivered drop keeps the later time)."""

    async def lift(self, key: str) -> None:
        """Forget the drop: the index is being built again."""


class FileTombstones:
    """One small JSON file per dropped index beside the Edge shards (not a directory, so
    nothing that walks the shards takes it for one)."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory

    def _path(self, key: str) -> Path:
        return self._directory / f"{key}{_SUFFIX}"

    async def dropped_at(self, key: str) -> datetime | None:
        return await anyio.to_thread.run_sync(self._read, key)

    def _read(self, key: str) -> datetime | None:
        try:
            text = self._path(key).read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        return datetime.fromisoformat(json.loads(text)["dropped_at"])

    async def bury(self, key: str, at: datetime) -> None:
        await anyio.to_thread.run_sync(self._write, key, at)

    def _write(self, key: str, at: datetime) -> None:
        known = self._read(key)
        if known is not None and known >= at:
            return
        self._directory.mkdir(parents=True, exist_ok=True)
        path = self._path(key)
        partial = path.with_suffix(".tmp")
        partial.write_text(json.dumps({"dropped_at": at.isoformat()}), encoding="utf-8")
        os.replace(partial, path)  # atomic: a reader sees the old or the new, never half

    async def lift(self, key: str) -> None:
        await anyio.to_thread.run_sync(lambda: self._path(key).unlink(missing_ok=True))


class QdrantTombstones:
    """One point per dropped index in a one-dimensional collection of the Qdrant server, so
    every worker replica sees a drop whichever replica applied it."""

    def __init__(self, client: AsyncQdrantClient, collection: str) -> None:
        self._client = client
        self._collection = collection
        self._ready = False

    async def _ensure(self) -> None:
        if self._ready:
            return
        from qdrant_client import models

        if not await self._client.collection_exists(self._collection):
            try:
                await self._client.create_collection(
                    self._collection,
                    vectors_config=models.VectorParams(size=1, distance=models.Distance.DOT),
                )
            except Exception:
                # Another replica created it a moment ago; anything else shows on the next call.
                if not await self._client.collection_exists(self._collection):
                    raise
        self._ready = True

    @staticmethod
    def _id(key: str) -> str:
        return str(uuid.uuid5(_NAMESPACE, key))

    async def dropped_at(self, key: str) -> datetime | None:
        await self._ensure()
        found = await self._client.retrieve(self._collection, [self._id(key)], with_payload=True)
        if not found or not found[0].payload:
            return None
        return datetime.fromisoformat(str(found[0].payload["dropped_at"]))

    async def bury(self, key: str, at: datetime) -> None:
        from qdrant_client import models

        known = await self.dropped_at(key)
        if known is not None and known >= at:
            return
        point = models.PointStruct(
            id=self._id(key), vector=[1.0], payload={"key": key, "dropped_at": at.isoformat()}
        )
        await self._client.upsert(self._collection, [point], wait=True)

    async def lift(self, key: str) -> None:
        from qdrant_client import models

        await self._ensure()
        await self._client.delete(
            self._collection, models.PointIdsList(points=[self._id(key)]), wait=True
        )


async def open_tombstones(settings: InfrastructureSettings, stack: AsyncExitStack) -> Tombstones:
    """The tombstones of the configured vector store (see the module)."""
    store = settings.vector_store
    match store.kind:
        case "edge":
            return FileTombstones(store.resolved_path(settings.core.data_dir))
        case "qdrant":
            from qdrant_client import AsyncQdrantClient

            client = AsyncQdrantClient(
                url=store.url,
                api_key=store.api_key.get_secret_value() if store.api_key else None,
                timeout=max(1, round(store.timeout_s)),
            )
            stack.push_async_callback(client.close)
            return QdrantTombstones(client, f"{store.collection_prefix}_dropped_indexes")
