"""The hashing embedder is a test double for the real model, so it must keep the promises of
the ``Embedder`` port that tests rely on: unit vectors, determinism, and similarity by overlap."""

from __future__ import annotations

import math

import pytest

from ragline_common.adapters.embedder import HashEmbedder


def _dot(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


async def test_vectors_have_the_declared_dimension_and_unit_length() -> None:
    embedder = HashEmbedder(64)
    vectors = await embedder.embed_documents(["ducks swim in the lake", "", "!!!"])
    assert [len(vector) for vector in vectors] == [64, 64, 64]
    for vector in vectors:
        assert math.isclose(math.sqrt(_dot(vector, vector)), 1.0, rel_tol=1e-9)


async def test_same_text_gives_the_same_vector_across_instances() -> None:
    first = await HashEmbedder(128).embed_query("Quarterly revenue grew by 12%")
    second = await HashEmbedder(128).embed_query("Quarterly revenue grew by 12%")
    assert first == second


async def test_query_and_document_embeddings_agree() -> None:
    embedder = HashEmbedder()
    [document] = await embedder.embed_documents(["the cat sat on the mat"])
    assert document == await embedder.embed_query("the cat sat on the mat")


async def test_shared_words_mean_higher_cosine() -> None:
    embedder = HashEmbedder()
    query = await embedder.embed_query("how do ducks swim")
    related, unrelated = await embedder.embed_documents(
        ["ducks swim by paddling their feet", "the invoice total is due in march"]
    )
    assert _dot(query, related) > _dot(query, unrelated)


async def test_case_does_not_matter() -> None:
    embedder = HashEmbedder()
    assert await embedder.embed_query("Mallard DUCK") == await embedder.embed_query("mallard duck")


def test_count_tokens_counts_words_and_punctuation() -> None:
    embedder = HashEmbedder()
    assert embedder.count_tokens("") == 0
    assert embedder.count_tokens("   \n ") == 0
    assert embedder.count_tokens("Hello, world!") == 4
    assert embedder.count_tokens("one two three") == 3


def test_model_id_names_the_dimension() -> None:
    assert HashEmbedder(32).model_id == "hash-32"
    assert HashEmbedder(32).dimension == 32


def test_rejects_a_dimension_below_one() -> None:
    with pytest.raises(ValueError, match="dimension"):
        HashEmbedder(0)
