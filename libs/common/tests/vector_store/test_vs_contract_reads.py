"""The VectorStore contract, read side: metadata conditions, paging through a document's chunks
and its newest version. Adapters: this folder's ``conftest.py``.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime

import pytest
from pydantic import JsonValue
from vs_contract_harness import LOCAL_MODE_INDEX_WARNING_IGNORED, MODES, A, B, chunk, search, terms

from ragline_common.adapters.vector_store.schema import LIST_PAGE
from ragline_common.errors import ValidationFailed
from ragline_common.ids import chunk_point_id
from ragline_common.ports.vector_store import (
    MatchAny,
    MatchDatetimeRange,
    MatchRange,
    MatchValue,
    MetadataCondition,
    SearchMode,
    VectorStore,
)
from ragline_common.tenancy import TenantId

pytestmark = LOCAL_MODE_INDEX_WARNING_IGNORED


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

    async def test_reads_past_the_first_page_of_a_large_document(self, store: VectorStore) -> None:
        # More chunks than one scroll page (LIST_PAGE), and the newest version's one chunk
        # has the highest point id of all, so a scroll (in id order) meets it on its last page.
        newest = max(
            (chunk(A, "doc", i, version=3) for i in range(64)), key=lambda p: uuid.UUID(p.id)
        )
        candidates = (chunk(A, "doc", i, version=1) for i in range(4 * LIST_PAGE))
        older = [p for p in candidates if uuid.UUID(p.id) < uuid.UUID(newest.id)]
        older = older[: LIST_PAGE + 10]
        assert len(older) == LIST_PAGE + 10
        await store.upsert(A, [*older, newest])

        assert await store.newest_version(A, "doc") == 3

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
