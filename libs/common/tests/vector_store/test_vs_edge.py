"""What only the embedded adapter must do: survive a killed process, refuse a second opener."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import anyio
import pytest

from ragline_common.adapters.vector_store.edge import EdgeVectorStore
from ragline_common.errors import UpstreamUnavailable
from ragline_common.ids import chunk_point_id
from ragline_common.ports.vector_store import ChunkPayload, ChunkPoint
from ragline_common.tenancy import TenantId

TENANT = TenantId("tenant-a")

# Writes one chunk, then dies by SIGKILL: no close, no flush, no atexit.
_KILLED_WRITER = textwrap.dedent(
    """
    import asyncio, os, signal, sys
    from pathlib import Path
    from ragline_common.adapters.vector_store.edge import EdgeVectorStore
    from ragline_common.ids import chunk_point_id
    from ragline_common.ports.vector_store import ChunkPayload, ChunkPoint
    from ragline_common.tenancy import TenantId

    async def main() -> None:
        store = EdgeVectorStore(Path(sys.argv[1]), dimension=4)
        await store.open()
        tenant = TenantId("tenant-a")
        payload = ChunkPayload(
            tenant_id=tenant, document_id="doc", version=1, chunk_index=0, text="kept",
            title="t", source_name="s", content_type="text/plain", char_start=0, char_end=4,
        )
        point = ChunkPoint(id=chunk_point_id(tenant, "doc", 1, 0), payload=payload,
                           dense=[1.0, 0.0, 0.0, 0.0])
        await store.upsert(tenant, [point])
        os.kill(os.getpid(), signal.SIGKILL)

    asyncio.run(main())
    """
)


def _point() -> ChunkPoint:
    payload = ChunkPayload(
        tenant_id=TENANT,
        document_id="doc",
        version=1,
        chunk_index=0,
        text="kept",
        title="t",
        source_name="s",
        content_type="text/plain",
        char_start=0,
        char_end=4,
    )
    return ChunkPoint(
        id=chunk_point_id(TENANT, "doc", 1, 0), payload=payload, dense=[1.0, 0.0, 0.0, 0.0]
    )


async def test_an_acknowledged_upsert_survives_a_killed_process(tmp_path: Path) -> None:
    path = tmp_path / "shard"
    writer = await anyio.run_process([sys.executable, "-c", _KILLED_WRITER, str(path)], check=False)
    assert writer.returncode == -9, writer.stderr.decode()

    store = EdgeVectorStore(path, dimension=4)
    await store.open()
    try:
        assert await store.list_chunks(TENANT, "doc", limit=5, offset=0) == [_point().payload]
    finally:
        await store.close()


async def test_a_second_opener_of_the_same_path_is_refused(tmp_path: Path) -> None:
    first = EdgeVectorStore(tmp_path / "shard", dimension=4)
    await first.open()
    try:
        with pytest.raises(UpstreamUnavailable, match="could not be opened"):
            await EdgeVectorStore(tmp_path / "shard", dimension=4).open()
        await first.ping()
    finally:
        await first.close()


async def test_a_shard_of_another_dimension_is_refused(tmp_path: Path) -> None:
    store = EdgeVectorStore(tmp_path / "shard", dimension=4)
    await store.open()
    await store.upsert(TENANT, [_point()])
    await store.close()

    with pytest.raises(UpstreamUnavailable, match="could not be opened"):
        await EdgeVectorStore(tmp_path / "shard", dimension=8).open()

    reopened = EdgeVectorStore(tmp_path / "shard", dimension=4)
    await reopened.open()
    try:
        assert await reopened.count(TENANT) == 1
    finally:
        await reopened.close()
