"""The VectorStore contract, search side: dense, sparse (IDF, per tenant) and hybrid ranking,
RRF fusion and refused queries. Adapters: this folder's ``conftest.py``.
"""

from __future__ import annotations

import pytest
from vs_contract_harness import LOCAL_MODE_INDEX_WARNING_IGNORED, A, B, axis, chunk, search, terms

from ragline_common.ids import chunk_point_id
from ragline_common.ports.vector_store import Rrf, SearchMode, SparseVector, VectorStore

pytestmark = LOCAL_MODE_INDEX_WARNING_IGNORED


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
