"""What every module of the VectorStore contract suite builds its points and queries from.

Vectors are tiny and hand-made (8 dimensions, mostly unit axes) so each expectation follows from
geometry, not from a model. The suite is split by behaviour across ``test_vs_contract_*.py``;
the adapters it runs against are the fixtures in this folder's ``conftest.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest
from pydantic import JsonValue

from ragline_common.ids import chunk_point_id
from ragline_common.ports.vector_store import (
    ChunkPayload,
    ChunkPoint,
    MetadataCondition,
    SearchMode,
    SparseVector,
    VectorStore,
)
from ragline_common.tenancy import TenantId

LOCAL_MODE_INDEX_WARNING_IGNORED = pytest.mark.filterwarnings(
    # qdrant-client's local mode accepts payload indexes but does not use them.
    "ignore:Payload indexes have no effect:UserWarning"
)
"""Every contract module's ``pytestmark``: the warning is expected, not a finding."""

A = TenantId("tenant-a")
B = TenantId("tenant-b")
MODES: tuple[SearchMode, ...] = ("dense", "sparse", "hybrid")

DIMENSION = 8
MODEL_ID = "tests/axis-8"

StoreFactory = Callable[[], VectorStore]
"""Builds a fresh, unopened adapter over the test's storage: calling it twice reopens the data."""


def axis(i: int, tilt: float = 0.0) -> list[float]:
    """Unit vector on axis ``i``, optionally tilted toward the next axis (lower similarity)."""
    vector = [0.0] * DIMENSION
    vector[i % DIMENSION] = 1.0
    vector[(i + 1) % DIMENSION] = tilt
    return vector


def terms(*indices: int) -> SparseVector:
    return SparseVector(indices=tuple(indices), values=tuple(1.0 for _ in indices))


def chunk(
    tenant: TenantId,
    document: str,
    index: int = 0,
    *,
    version: int = 1,
    dense: Sequence[float] | None = None,
    sparse: SparseVector | None = None,
    text: str | None = None,
    metadata: dict[str, JsonValue] | None = None,
) -> ChunkPoint:
    payload = ChunkPayload(
        tenant_id=tenant,
        document_id=document,
        version=version,
        chunk_index=index,
        text=text if text is not None else f"{document} v{version} #{index}",
        title=f"Title of {document}",
        source_name=f"{document}.md",
        content_type="text/markdown",
        heading_path=("Guide", "Setup"),
        page=3,
        char_start=index * 100,
        char_end=index * 100 + 99,
        metadata=metadata or {},
    )
    return ChunkPoint(
        id=chunk_point_id(tenant, document, version, index),
        payload=payload,
        dense=dense if dense is not None else axis(index),
        sparse=sparse,
    )


async def search(
    store: VectorStore,
    tenant: TenantId,
    mode: SearchMode = "dense",
    *,
    dense: Sequence[float] | None = None,
    sparse: SparseVector | None = None,
    limit: int = 10,
    conditions: Sequence[MetadataCondition] = (),
) -> list[str]:
    hits = await store.search(
        tenant,
        mode=mode,
        dense=dense if dense is not None or mode == "sparse" else axis(0),
        sparse=sparse if sparse is not None or mode == "dense" else terms(1),
        limit=limit,
        conditions=conditions,
    )
    return [hit.id for hit in hits]
