"""The BM25 encoder: Qdrant's tokenizer, English stop words and stemmer, BM25 document weights."""

from __future__ import annotations

import pytest

from ragline_common.adapters.sparse.bm25 import AVG_LEN, K1, B, Bm25SparseEncoder
from ragline_common.ports.vector_store import SparseVector


@pytest.fixture(scope="module")
def encoder() -> Bm25SparseEncoder:
    return Bm25SparseEncoder()


def weights(vector: SparseVector) -> dict[int, float]:
    return dict(zip(vector.indices, vector.values, strict=True))


def term(encoder: Bm25SparseEncoder, word: str) -> int:
    (index,) = encoder.encode_query(word).indices
    return index


def test_inflections_share_one_stemmed_term(encoder: Bm25SparseEncoder) -> None:
    assert len({term(encoder, w) for w in ("running", "runs", "run")}) == 1
    assert len({term(encoder, w) for w in ("proteins", "protein")}) == 1
    assert term(encoder, "protein") != term(encoder, "running")


def test_stop_words_carry_no_terms(encoder: Bm25SparseEncoder) -> None:
    assert encoder.encode_query("what is it and of the").indices == ()
    assert len(encoder.encode_query("what is the role of insulin").indices) == 2


def test_case_punctuation_and_accents_do_not_split_terms(encoder: Bm25SparseEncoder) -> None:
    assert term(encoder, "Café") == term(encoder, "cafe")
    assert encoder.encode_query("p53-mutant, (cells)!") == encoder.encode_query("P53 mutant cells")


def test_a_query_weighs_each_distinct_term_once(encoder: Bm25SparseEncoder) -> None:
    vector = encoder.encode_query("insulin insulin resistance")
    assert sorted(vector.values) == [1.0, 1.0]


async def test_document_weights_saturate_with_term_frequency(encoder: Bm25SparseEncoder) -> None:
    filler = " ".join(f"word{i}" for i in range(int(AVG_LEN) - 3))
    texts = [f"insulin {filler}", f"insulin insulin {filler}", f"insulin insulin insulin {filler}"]
    vectors = await encoder.encode_documents(texts)
    insulin = term(encoder, "insulin")
    once, twice, thrice = (weights(vector)[insulin] for vector in vectors)

    assert once < twice < thrice < K1 + 1
    assert twice - once > thrice - twice
    # A document of about average length: tf * (k1 + 1) / (tf + k1).
    assert once == pytest.approx((K1 + 1) / (1 + K1), rel=0.05)


async def test_longer_documents_weigh_a_term_less(encoder: Bm25SparseEncoder) -> None:
    short, long = await encoder.encode_documents(
        ["insulin signalling", "insulin " + " ".join(f"word{i}" for i in range(300))]
    )
    insulin = term(encoder, "insulin")
    assert weights(short)[insulin] > weights(long)[insulin]
    dl = 301
    expected = (K1 + 1) / (1 + K1 * (1 - B + B * dl / AVG_LEN))
    assert weights(long)[insulin] == pytest.approx(expected, rel=0.02)


async def test_documents_and_queries_share_term_ids(encoder: Bm25SparseEncoder) -> None:
    (document,) = await encoder.encode_documents(["Vitamin B12 deficiency raises homocysteine"])
    query = encoder.encode_query("homocysteine levels with vitamin deficiencies")
    assert set(query.indices) & set(document.indices) == {
        term(encoder, "homocysteine"),
        term(encoder, "vitamin"),
        term(encoder, "deficiency"),
    }


async def test_batches_larger_than_one_thread_hop_keep_their_order(
    encoder: Bm25SparseEncoder,
) -> None:
    texts = [f"term{i}" for i in range(150)]
    vectors = await encoder.encode_documents(texts)
    assert [v.indices for v in vectors] == [encoder.encode_query(t).indices for t in texts]


def test_overlong_tokens_are_dropped(encoder: Bm25SparseEncoder) -> None:
    assert encoder.encode_query("a" * 80).indices == ()
