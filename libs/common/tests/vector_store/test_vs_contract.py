"""The VectorStore contract, held against every adapter.

``edge`` and ``qdrant-local`` (qdrant-client's local mode, on disk so reopening can be tested)
need nothing installed. ``qdrant-server`` starts the real Qdrant image with testcontainers and is
skipped when there is no Docker engine or testcontainers is not installed.

Vectors are tiny and hand-made (8 dimensions, mostly unit axes) so each expectation follows from
geometry, not from a model.
"""

from __future__ import annotations

import os
import random
import socket
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse

import anyio
import pytest
from pydantic import JsonValue

from ragline_common.adapters.vector_store.edge import EdgeVectorStore
from ragline_common.adapters.vector_store.qdrant_remote import QdrantRemoteVectorStore
from ragline_common.errors import UpstreamUnavailable, ValidationFailed
from ragline_common.ids import chunk_point_id
from ragline_common.ports.vector_store import (
    ChunkPayload,
    ChunkPoint,
    MatchAny,
    MatchDatetimeRange,
    MatchRange,
    MatchValue,
    MetadataCondition,
    Rrf,
    SearchMode,
    SparseVector,
    VectorStore,
)
from ragline_common.tenancy import TenantId
from ragline_testing.harness import service_reachable

pytestmark = pytest.mark.filterwarnings(
    # qdrant-client's local mode accepts payload indexes but does not use them.
    "ignore:Payload indexes have no effect:UserWarning"
)

A = TenantId("tenant-a")
B = TenantId("tenant-b")
MODES: tuple[SearchMode, ...] = ("dense", "sparse", "hybrid")

DIMENSION = 8
MODEL_ID = "tests/axis-8"
QDRANT_IMAGE = "qdrant/qdrant:v1.20.0"  # the deployed version; IDF over a corpus filter

StoreFactory = Callable[[], VectorStore]
"""Builds a fresh, unopened adapter over the test's storage: calling it twice reopens the data."""


def docker_engine_reachable() -> bool:
    """Probe the Docker socket directly: testcontainers objects fail to construct without one."""
    address = urlparse(os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock"))
    if address.scheme == "unix":
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(1.0)
            try:
                sock.connect(address.path)
            except OSError:
                return False
            return True
    if address.scheme in ("tcp", "http", "https") and address.hostname:
        return service_reachable(address.hostname, address.port or 2375)
    return False


@pytest.fixture(scope="session")
def qdrant_server_url() -> Iterator[str]:
    if not docker_engine_reachable():
        pytest.skip("no Docker engine reachable: the Qdrant server variant needs one")
    containers = pytest.importorskip("testcontainers.community.qdrant")
    with containers.QdrantContainer(image=QDRANT_IMAGE) as qdrant:
        host = qdrant.get_container_host_ip()
        yield f"http://{host}:{qdrant.get_exposed_port(6333)}"


@pytest.fixture(
    params=[
        "edge",
        "qdrant-local",
        pytest.param("qdrant-server", marks=pytest.mark.integration),
    ]
)
def store_factory(request: pytest.FixtureRequest, tmp_path: Path) -> StoreFactory:
    backend: str = request.param
    # Tests share one server, so each gets its own collection.
    prefix = f"t{uuid.uuid4().hex[:12]}"
    server_url = request.getfixturevalue("qdrant_server_url") if backend == "qdrant-server" else ""

    def make() -> VectorStore:
        match backend:
            case "edge":
                return EdgeVectorStore(tmp_path / "edge", dimension=DIMENSION)
            case "qdrant-local":
                return QdrantRemoteVectorStore(
                    model_id=MODEL_ID, dimension=DIMENSION, path=tmp_path / "qdrant-local"
                )
            case _:
                return QdrantRemoteVectorStore(
                    model_id=MODEL_ID,
                    dimension=DIMENSION,
                    collection_prefix=prefix,
                    url=server_url,
                )

    return make


@pytest.fixture
async def store(store_factory: StoreFactory) -> AsyncIterator[VectorStore]:
    opened = store_factory()
    await opened.open()
    yield opened
    await opened.close()


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


class TestLifecycle:
    async def test_open_twice_keeps_data(self, store: VectorStore) -> None:
        await store.upsert(A, [chunk(A, "doc")])
        await store.open()
        assert await store.count(A) == 1

    async def test_data_survives_close_and_reopen(self, store_factory: StoreFactory) -> None:
        first = store_factory()
        await first.open()
        point = chunk(A, "doc", sparse=terms(4))
        await first.upsert(A, [point])
        await first.close()

        second = store_factory()
        await second.open()
        try:
            assert await second.count(A) == 1
            assert await search(second, A, "sparse", sparse=terms(4)) == [point.id]
            assert await second.list_chunks(A, "doc", limit=10, offset=0) == [point.payload]
        finally:
            await second.close()

    async def test_ping_answers_only_while_open(self, store_factory: StoreFactory) -> None:
        adapter = store_factory()
        with pytest.raises(UpstreamUnavailable):
            await adapter.ping()
        await adapter.open()
        await adapter.ping()
        await adapter.close()
        with pytest.raises(UpstreamUnavailable):
            await adapter.ping()
        await adapter.close()  # closing twice is harmless


class TestWrites:
    async def test_hit_carries_the_full_payload(self, store: VectorStore) -> None:
        point = chunk(A, "doc", sparse=terms(2), metadata={"lang": "en", "tags": ["a", "b"]})
        await store.upsert(A, [point])

        [hit] = await store.search(A, mode="dense", dense=axis(0), sparse=None, limit=5)

        assert hit.id == point.id
        assert hit.payload == point.payload
        assert hit.payload.heading_path == ("Guide", "Setup")

    async def test_upsert_refuses_a_batch_with_another_tenants_payload(
        self, store: VectorStore
    ) -> None:
        with pytest.raises(ValueError, match="tenant"):
            await store.upsert(A, [chunk(A, "doc"), chunk(B, "doc", 1)])
        assert await store.count(A) == 0
        assert await store.count(B) == 0

    async def test_upsert_refuses_wrong_dimension(self, store: VectorStore) -> None:
        with pytest.raises(ValueError, match="dimensions"):
            await store.upsert(A, [chunk(A, "doc", dense=[1.0, 0.0])])

    async def test_upsert_of_the_same_id_overwrites(self, store: VectorStore) -> None:
        await store.upsert(A, [chunk(A, "doc", text="first")])
        await store.upsert(A, [chunk(A, "doc", text="second")])

        assert await store.count(A) == 1
        [payload] = await store.list_chunks(A, "doc", limit=10, offset=0)
        assert payload.text == "second"

    async def test_delete_document_keeping_a_version(self, store: VectorStore) -> None:
        old = [chunk(A, "doc", i, version=1) for i in range(3)]
        new = [chunk(A, "doc", i, version=2) for i in range(2)]
        other = chunk(A, "other")
        await store.upsert(A, [*old, *new, other])

        await store.delete_document(A, "doc", keep_version=2)

        assert await store.list_chunks(A, "doc", limit=10, offset=0) == [p.payload for p in new]
        assert await store.count(A, "other") == 1

        await store.delete_document(A, "doc")
        assert await store.count(A, "doc") == 0
        assert await store.count(A) == 1

    async def test_pruning_keeps_versions_newer_than_the_kept_one(self, store: VectorStore) -> None:
        # Version 3 was written while version 2's prune was on its way: it must survive it.
        points = [chunk(A, "doc", i, version=v) for v in (1, 2, 3) for i in range(2)]
        await store.upsert(A, points)

        await store.delete_document(A, "doc", keep_version=2)

        listed = await store.list_chunks(A, "doc", limit=10, offset=0)
        assert [(p.version, p.chunk_index) for p in listed] == [(2, 0), (2, 1), (3, 0), (3, 1)]

    async def test_delete_tenant_removes_every_chunk_of_that_tenant_only(
        self, store: VectorStore
    ) -> None:
        await store.upsert(A, [chunk(A, "one"), chunk(A, "two", 1)])
        await store.upsert(B, [chunk(B, "one")])

        await store.delete_tenant(A)

        assert await store.count(A) == 0
        assert await store.count(B) == 1


class TestTenantIsolation:
    """Tenant B uses the same document ids and vectors as A, and must still see only its own."""

    @pytest.fixture
    async def populated(self, store: VectorStore) -> VectorStore:
        await store.upsert(A, [chunk(A, "shared", i, sparse=terms(1, i + 10)) for i in range(3)])
        await store.upsert(B, [chunk(B, "shared", 0, sparse=terms(1))])
        return store

    @pytest.mark.parametrize("mode", MODES)
    async def test_search_sees_own_points_only(
        self, populated: VectorStore, mode: SearchMode
    ) -> None:
        hits = await search(populated, B, mode, limit=50)
        assert hits == [chunk_point_id(B, "shared", 1, 0)]

    async def test_list_and_count_see_own_points_only(self, populated: VectorStore) -> None:
        listed = await populated.list_chunks(B, "shared", limit=50, offset=0)
        assert [p.tenant_id for p in listed] == [B]
        assert await populated.count(B) == 1
        assert await populated.count(B, "shared") == 1
        assert await populated.count(A, "shared") == 3

    async def test_deletes_do_not_reach_another_tenant(self, populated: VectorStore) -> None:
        await populated.delete_document(B, "shared")
        await populated.delete_tenant(B)
        assert await populated.count(A) == 3

    async def test_unknown_tenant_sees_nothing(self, populated: VectorStore) -> None:
        stranger = TenantId("tenant-c")
        for mode in MODES:
            assert await search(populated, stranger, mode) == []
        assert await populated.list_chunks(stranger, "shared", limit=10, offset=0) == []
        assert await populated.count(stranger) == 0


class TestSearch:
    async def test_dense_ranks_the_closest_first_with_higher_scores(
        self, store: VectorStore
    ) -> None:
        near, far = chunk(A, "doc", 0, dense=axis(0, 0.1)), chunk(A, "doc", 1, dense=axis(0, 2.0))
        await store.upsert(A, [far, near])

        hits = await store.search(A, mode="dense", dense=axis(0), sparse=None, limit=2)

        assert [h.id for h in hits] == [near.id, far.id]
        assert hits[0].score > hits[1].score

    async def test_sparse_matches_on_shared_terms(self, store: VectorStore) -> None:
        rare = chunk(A, "doc", 0, sparse=terms(7, 8))
        common = chunk(A, "doc", 1, sparse=terms(8))
        unrelated = chunk(A, "doc", 2, sparse=terms(9))
        await store.upsert(A, [rare, common, unrelated])

        hits = await store.search(A, mode="sparse", dense=None, sparse=terms(7, 8), limit=10)

        assert [h.id for h in hits] == [rare.id, common.id]
        assert hits[0].score > hits[1].score

    async def test_hybrid_fuses_hits_found_by_only_one_side(self, store: VectorStore) -> None:
        # Sixty fillers sit closer to the query than `lexical`, pushing it out of the dense
        # prefetch (50): only the sparse side can find it. `semantic` has no sparse vector.
        semantic = chunk(A, "doc", 0, dense=axis(0))
        lexical = chunk(A, "doc", 1, dense=axis(4), sparse=terms(42))
        fillers = [chunk(A, "fill", i, dense=axis(0, 0.5 + i / 100)) for i in range(60)]
        await store.upsert(A, [semantic, lexical, *fillers])
        assert lexical.id not in await search(store, A, "dense", dense=axis(0), limit=50)
        assert await search(store, A, "sparse", sparse=terms(42)) == [lexical.id]

        hits = await search(store, A, "hybrid", dense=axis(0), sparse=terms(42), limit=2)

        assert set(hits) == {semantic.id, lexical.id}

    async def test_hybrid_scores_are_descending(self, store: VectorStore) -> None:
        await store.upsert(A, [chunk(A, "doc", i, sparse=terms(1, i + 10)) for i in range(5)])
        hits = await store.search(A, mode="hybrid", dense=axis(2), sparse=terms(12), limit=5)
        scores = [h.score for h in hits]
        assert len(hits) == 5
        assert scores == sorted(scores, reverse=True)
        assert hits[0].id == chunk_point_id(A, "doc", 1, 2)

    async def test_term_weights_ignore_other_tenants_documents(self, store: VectorStore) -> None:
        # B's term 5 is rare in B (one chunk of three), term 6 common (two). Thirty chunks of A
        # with term 5 would make it common collection-wide: if they weighed in, B's scores
        # would change, telling B that some other tenant writes about term 5.
        rare = chunk(B, "doc", 0, sparse=terms(5))
        commons = [chunk(B, "doc", i, sparse=terms(6)) for i in (1, 2)]
        await store.upsert(B, [rare, *commons])
        sparse_first = Rrf(k=1, sparse_weight=100.0)  # fused order = sparse order

        async def seen_by_b() -> tuple[str, str, dict[str, float]]:
            """The sparse and the fused winner, and every sparse score."""
            hits = await store.search(B, mode="sparse", dense=None, sparse=terms(5, 6), limit=5)
            [fused, *_] = await store.search(
                B, mode="hybrid", dense=axis(3), sparse=terms(5, 6), limit=3, fusion=sparse_first
            )
            return hits[0].id, fused.id, {hit.id: hit.score for hit in hits}

        alone = await seen_by_b()
        await store.upsert(A, [chunk(A, "noise", i, sparse=terms(5)) for i in range(30)])
        beside_a = await seen_by_b()

        assert alone[:2] == (rare.id, rare.id)
        assert beside_a == alone

    async def test_sparse_weighs_rare_terms_above_common_ones(self, store: VectorStore) -> None:
        # The IDF modifier: term 5 is in one chunk, term 6 in six, so at equal stored weights
        # the chunk with the rare term wins a query naming both.
        rare = chunk(A, "doc", 0, sparse=terms(5))
        commons = [chunk(A, "doc", i, sparse=terms(6)) for i in range(1, 7)]
        await store.upsert(A, [rare, *commons])

        hits = await store.search(A, mode="sparse", dense=None, sparse=terms(5, 6), limit=10)

        assert hits[0].id == rare.id
        assert len(hits) == 7
        assert hits[0].score > hits[1].score
        assert {h.score for h in hits[1:]} == {hits[1].score}

    @pytest.mark.parametrize(
        ("fusion", "winner"),
        [(Rrf(k=1, dense_weight=3.0), 0), (Rrf(k=1, sparse_weight=3.0), 1)],
    )
    async def test_hybrid_rrf_takes_k_and_weights(
        self, store: VectorStore, fusion: Rrf, winner: int
    ) -> None:
        # Chunk 0 is first on the dense side and second on the sparse side, chunk 1 the other
        # way round: equal weights would tie them, a weight decides.
        first_dense = chunk(A, "doc", 0, dense=axis(0), sparse=SparseVector((42,), (0.5,)))
        first_sparse = chunk(A, "doc", 1, dense=axis(0, 0.5), sparse=terms(42))
        await store.upsert(A, [first_dense, first_sparse])

        hits = await store.search(
            A, mode="hybrid", dense=axis(0), sparse=terms(42), limit=2, fusion=fusion
        )

        assert hits[0].id == chunk_point_id(A, "doc", 1, winner)
        # Qdrant's weighted RRF, 1 / (rank / weight + k - 1) with ranks from 1: the winner is
        # first on the weighted side and second on the other, the loser the other way round.
        assert hits[0].score == pytest.approx(1 / (1 / 3) + 1 / 2, rel=1e-4)
        assert hits[1].score == pytest.approx(1 / (2 / 3) + 1 / 1, rel=1e-4)

    @pytest.mark.parametrize(
        ("mode", "dense", "sparse"),
        [("dense", None, terms(1)), ("sparse", axis(0), None), ("hybrid", axis(0), None)],
    )
    async def test_a_mode_without_its_vector_is_refused(
        self,
        store: VectorStore,
        mode: SearchMode,
        dense: list[float] | None,
        sparse: SparseVector | None,
    ) -> None:
        with pytest.raises(ValueError, match="needs"):
            await store.search(A, mode=mode, dense=dense, sparse=sparse, limit=3)

    async def test_bad_limit_or_dimension_is_refused(self, store: VectorStore) -> None:
        with pytest.raises(ValueError, match="limit"):
            await store.search(A, mode="dense", dense=axis(0), sparse=None, limit=0)
        with pytest.raises(ValueError, match="dimensions"):
            await store.search(A, mode="dense", dense=[1.0], sparse=None, limit=3)


CONDITION_CASES: list[tuple[list[MetadataCondition], list[int]]] = [
    ([MatchValue("lang", "de")], [1]),
    ([MatchValue("year", 2021)], [0]),
    ([MatchValue("public", True)], [0, 2]),
    ([MatchValue("public", False)], [1]),
    ([MatchAny("lang", ("en", "fr"))], [0, 2]),
    ([MatchAny("year", (2021, 2023))], [0, 1]),
    ([MatchRange("year", gte=2023)], [1, 2]),
    ([MatchRange("year", gt=2021, lt=2024)], [1]),
    ([MatchRange("year", lte=2024.5, gt=2023)], [2]),
    ([MatchValue("dotted.key", "y")], [1]),
    ([MatchValue("with space", 1)], [0]),
    ([MatchValue("public", True), MatchRange("year", gt=2022)], [2]),
    ([MatchValue("missing", "x")], []),
    ([MatchDatetimeRange("published", gte=datetime(2023, 1, 1, tzinfo=UTC))], [1, 2]),
    ([MatchDatetimeRange("published", lt=datetime(2023, 6, 15, 10, tzinfo=UTC))], [0]),
    ([MatchDatetimeRange("published", lte=datetime(2023, 6, 15, 10, tzinfo=UTC))], [0, 1]),
    ([MatchDatetimeRange("published", gt=datetime(2024, 12, 30, 23, tzinfo=UTC))], [2]),
]
"""(conditions, indexes of the chunks of ``tagged`` they select)."""


class TestMetadataConditions:
    @pytest.fixture
    async def tagged(self, store: VectorStore) -> VectorStore:
        metadata: list[dict[str, JsonValue]] = [
            {
                "lang": "en",
                "year": 2021,
                "public": True,
                "dotted.key": "x",
                "with space": 1,
                "published": "2021-05-01",
            },
            {
                "lang": "de",
                "year": 2023,
                "public": False,
                "dotted.key": "y",
                "published": "2023-06-15T10:00:00Z",
            },
            {"lang": "fr", "year": 2024.5, "public": True, "published": "2024-12-31"},
        ]
        await store.upsert(
            A, [chunk(A, "doc", i, sparse=terms(1), metadata=m) for i, m in enumerate(metadata)]
        )
        await store.upsert(B, [chunk(B, "doc", 0, sparse=terms(1), metadata=metadata[0])])
        return store

    @pytest.mark.parametrize("mode", MODES)
    async def test_conditions_select_matching_chunks(
        self, tagged: VectorStore, mode: SearchMode
    ) -> None:
        # One stored fixture serves every case: building a store per case costs more than
        # the assertions (the cases are reported together on failure).
        wrong: dict[str, list[str]] = {}
        for conditions, expected in CONDITION_CASES:
            hits = sorted(await search(tagged, A, mode, conditions=conditions))
            if hits != sorted(chunk_point_id(A, "doc", 1, i) for i in expected):
                wrong[repr(conditions)] = hits
        assert wrong == {}

    async def test_unexpressible_conditions_are_validation_errors(self, store: VectorStore) -> None:
        for condition in (MatchValue('quo"te', "x"), MatchAny("lang", ("en", 1))):
            with pytest.raises(ValidationFailed):
                await search(store, A, conditions=[condition])


class TestListChunks:
    async def test_pages_follow_version_then_chunk_index(self, store: VectorStore) -> None:
        # More chunks than one scroll page, written in random order.
        points = [chunk(A, "big", i, version=v) for v in (2, 1) for i in range(160)]
        random.Random(7).shuffle(points)
        for start in range(0, len(points), 64):
            await store.upsert(A, points[start : start + 64])

        pages = [
            await store.list_chunks(A, "big", limit=100, offset=offset)
            for offset in range(0, 400, 100)
        ]

        assert [len(page) for page in pages] == [100, 100, 100, 20]
        listed = [(p.version, p.chunk_index) for page in pages for p in page]
        assert listed == [(v, i) for v in (1, 2) for i in range(160)]

    async def test_one_version_can_be_listed_alone(self, store: VectorStore) -> None:
        await store.upsert(A, [chunk(A, "doc", i, version=v) for v in (1, 2) for i in range(3)])
        only_two = await store.list_chunks(A, "doc", limit=2, offset=1, version=2)
        assert [(p.version, p.chunk_index) for p in only_two] == [(2, 1), (2, 2)]
        assert await store.list_chunks(A, "doc", limit=10, offset=0, version=3) == []
        assert await store.list_chunks(B, "doc", limit=10, offset=0, version=1) == []

    async def test_empty_page_past_the_end(self, store: VectorStore) -> None:
        await store.upsert(A, [chunk(A, "doc")])
        assert await store.list_chunks(A, "doc", limit=10, offset=1) == []
        assert await store.list_chunks(A, "doc", limit=0, offset=0) == []


class TestNewestVersion:
    async def test_is_the_highest_version_even_with_the_fewest_chunks(
        self, store: VectorStore
    ) -> None:
        sizes = {1: 4, 2: 3, 5: 1}
        await store.upsert(
            A, [chunk(A, "doc", i, version=v) for v, size in sizes.items() for i in range(size)]
        )
        await store.upsert(A, [chunk(A, "other", version=9)])

        assert await store.newest_version(A, "doc") == 5

    async def test_sees_every_version_when_each_has_one_chunk(self, store: VectorStore) -> None:
        # More versions than a facet returns by default (10).
        await store.upsert(A, [chunk(A, "doc", version=v) for v in range(1, 16)])
        assert await store.newest_version(A, "doc") == 15

    async def test_is_none_without_chunks_and_follows_deletes(self, store: VectorStore) -> None:
        assert await store.newest_version(A, "doc") is None
        await store.upsert(A, [chunk(A, "doc", i, version=v) for v in (1, 2) for i in range(2)])

        await store.delete_document(A, "doc", keep_version=2)
        assert await store.newest_version(A, "doc") == 2
        await store.delete_document(A, "doc")
        assert await store.newest_version(A, "doc") is None

    async def test_sees_own_versions_only(self, store: VectorStore) -> None:
        await store.upsert(A, [chunk(A, "shared", version=1)])
        await store.upsert(B, [chunk(B, "shared", version=7)])

        assert await store.newest_version(A, "shared") == 1
        assert await store.newest_version(B, "shared") == 7
        assert await store.newest_version(TenantId("tenant-c"), "shared") is None


async def test_concurrent_searches_and_upserts_complete(store: VectorStore) -> None:
    await store.upsert(A, [chunk(A, "doc", i, sparse=terms(i)) for i in range(20)])
    results: list[int] = []

    async def searcher(n: int) -> None:
        hits = await search(store, A, MODES[n % 3], dense=axis(n), sparse=terms(n % 20), limit=5)
        results.append(len(hits))

    async def writer(n: int) -> None:
        await store.upsert(A, [chunk(A, "more", n, sparse=terms(n))])

    async with anyio.create_task_group() as group:
        for n in range(60):
            group.start_soon(searcher, n)
            if n % 6 == 0:
                group.start_soon(writer, n)

    assert len(results) == 60
    assert all(0 < count <= 5 for count in results)
    assert await store.count(A, "more") == 10
