"""A dropped index is never created again by a writer sent before the drop (issue 15).

Real Edge shards under a temporary data dir, stand-in models (hash embedders). The tombstone
stores themselves are checked on files and on qdrant-client's local mode.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from vs_contract_harness import chunk

from ragline_common.adapters.embedder.hashing import HashEmbedder
from ragline_common.adapters.factory import open_vector_store
from ragline_common.indexing.indexes import DropAwareIndexes, EmbeddingIndexes
from ragline_common.indexing.model_spec import ModelSpec
from ragline_common.indexing.tombstones import FileTombstones, QdrantTombstones, Tombstones
from ragline_common.ports.embedder import Embedder
from ragline_common.settings import CoreSettings, EmbedderSettings, InfrastructureSettings
from ragline_common.tenancy import TenantId
from ragline_testing.harness import embedded_settings

TENANT = TenantId("ten_tombstones")
NEW = ModelSpec.parse("onnx-int8")
DROPPED_AT = datetime(2026, 12, 4, 20, 0, tzinfo=UTC)
BEFORE = DROPPED_AT - timedelta(seconds=1)
AFTER = DROPPED_AT + timedelta(seconds=1)


async def _stand_in(settings: EmbedderSettings, stack: AsyncExitStack) -> Embedder:
    return HashEmbedder(64 if settings.kind == "hash" else 32)


@pytest.fixture
def settings(tmp_path: Path) -> InfrastructureSettings:
    return embedded_settings(CoreSettings(data_dir=tmp_path), hash_dimension=64)


@pytest.fixture
async def stack() -> AsyncIterator[AsyncExitStack]:
    async with AsyncExitStack() as opened:
        yield opened


def _shards(settings: InfrastructureSettings) -> set[str]:
    root = settings.vector_store.resolved_path(settings.core.data_dir)
    return {path.name for path in root.iterdir() if path.is_dir()}


async def test_a_writer_sent_before_the_drop_does_not_recreate_the_index(
    settings: InfrastructureSettings, stack: AsyncExitStack
) -> None:
    indexes = EmbeddingIndexes(settings, stack, open_embedder=_stand_in)
    assert isinstance(indexes, DropAwareIndexes)
    written = await indexes.index(NEW)
    await written.store.upsert(TENANT, [chunk(TENANT, "doc", dense=[1.0] + [0.0] * 31)])
    key = written.key

    await indexes.drop(NEW, at=DROPPED_AT)

    assert key not in _shards(settings)
    # A reindex task in flight at the drop, redelivered after it: skipped, nothing created.
    assert await indexes.writable(NEW, sent_at=BEFORE, rebuilds=True) is None
    # A message sent after the drop that is not a reindex task of it (a stale delete list).
    assert await indexes.writable(NEW, sent_at=AFTER, rebuilds=False) is None
    assert key not in _shards(settings)
    # The default index is untouched by all this.
    assert await indexes.writable(None, sent_at=BEFORE, rebuilds=False) is not None


async def test_a_reindex_after_the_drop_rebuilds_it_from_empty(
    settings: InfrastructureSettings, stack: AsyncExitStack
) -> None:
    indexes = EmbeddingIndexes(settings, stack, open_embedder=_stand_in)
    key = (await indexes.index(NEW)).key
    await indexes.drop(NEW, at=DROPPED_AT)
    # A straggler that raced the drop left a point behind (written straight to the shard).
    leftover = await open_vector_store(
        settings, stack, await _stand_in(NEW.settings_for(settings.embedder), stack)
    )
    await leftover.upsert(TENANT, [chunk(TENANT, "doc", dense=[1.0] + [0.0] * 31)])
    await leftover.close()

    rebuilt = await indexes.writable(NEW, sent_at=AFTER, rebuilds=True)

    assert rebuilt is not None and rebuilt.key == key
    assert await rebuilt.store.newest_version(TENANT, "doc") is None  # wiped before the rebuild
    # The tombstone is gone: an ordinary writer of any time now finds the open index.
    assert await indexes.writable(NEW, sent_at=BEFORE, rebuilds=False) is rebuilt
    assert (
        await FileTombstones(
            settings.vector_store.resolved_path(settings.core.data_dir)
        ).dropped_at(key)
        is None
    )


async def test_readers_and_writers_without_a_time_open_as_before(
    settings: InfrastructureSettings, stack: AsyncExitStack
) -> None:
    indexes = EmbeddingIndexes(settings, stack, open_embedder=_stand_in)
    await indexes.index(NEW)
    await indexes.drop(NEW)  # no time: no tombstone, as before tombstones existed
    assert await indexes.writable(NEW, sent_at=BEFORE, rebuilds=False) is not None


@pytest.fixture(params=["file", "qdrant"])
async def tombstones(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Tombstones]:
    if request.param == "file":
        yield FileTombstones(tmp_path / "vectors")
        return
    from qdrant_client import AsyncQdrantClient

    client = AsyncQdrantClient(location=":memory:")
    try:
        yield QdrantTombstones(client, "ragline_dropped_indexes")
    finally:
        await client.close()


async def test_tombstones_keep_the_latest_drop_until_lifted(tombstones: Tombstones) -> None:
    assert await tombstones.dropped_at("all-minilm-l6-v2-384") is None
    await tombstones.bury("all-minilm-l6-v2-384", DROPPED_AT)
    await tombstones.bury("all-minilm-l6-v2-384", BEFORE)  # a late redelivery of an older drop
    assert await tombstones.dropped_at("all-minilm-l6-v2-384") == DROPPED_AT
    assert await tombstones.dropped_at("hash-64") is None
    await tombstones.bury("all-minilm-l6-v2-384", AFTER)
    assert await tombstones.dropped_at("all-minilm-l6-v2-384") == AFTER
    await tombstones.lift("all-minilm-l6-v2-384")
    assert await tombstones.dropped_at("all-minilm-l6-v2-384") is None
    await tombstones.lift("all-minilm-l6-v2-384")  # idempotent
