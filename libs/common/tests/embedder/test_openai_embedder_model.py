"""The remote embedder against a server computing real all-MiniLM-L6-v2 embeddings: what it
returns must be what the local model returns (marked ``model``: loads the model once)."""

from __future__ import annotations

import math

import anyio
import pytest

from ragline_common.adapters.embedder import MiniLmEmbedder
from ragline_common.settings import EmbedderSettings
from ragline_testing.embedding_server import FakeEmbeddingServer, remote_embedder

pytestmark = pytest.mark.model

TEXTS = [
    "Aspirin reduces the risk of heart attack in some patients.",
    "The mitochondria is the powerhouse of the cell.",
    "Ducks eat leaves, berries and grain.",
    "Vitamin D deficiency is common in northern latitudes.",
    "Steps to change a forgotten password",
    "A short one",
    "Regular exercise lowers blood pressure over several months of training.",
    "Gene expression differs between tissues.",
    "Rainfall in the region doubled during the last decade.",
    "How can I reset my password?",
]


@pytest.fixture(scope="module")
def local_model() -> MiniLmEmbedder:
    # One load for the module, on a loop of its own (as in test_minilm_embedder).
    model = MiniLmEmbedder(EmbedderSettings(batch_size=16))
    anyio.run(model.warm_up)
    return model


def _cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return dot / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))


async def test_remote_vectors_are_the_local_models_in_order(local_model: MiniLmEmbedder) -> None:
    # Not normalised by the server, sent in batches of 3: order and normalisation are ours.
    server = FakeEmbeddingServer(local_model, scale=3.0)
    async with remote_embedder(server, request_batch_size=3) as embedder:
        assert embedder.dimension == 384
        assert embedder.model_id == "all-MiniLM-L6-v2"
        server.requests.clear()
        remote_vectors = await embedder.embed_documents(TEXTS)
        remote_query = await embedder.embed_query(TEXTS[-1])
    local_vectors = await local_model.embed_documents(TEXTS)
    assert server.batch_sizes == [3, 3, 3, 1, 1]
    cosines = [_cosine(r, loc) for r, loc in zip(remote_vectors, local_vectors, strict=True)]
    assert min(cosines) > 0.999
    assert _cosine(remote_query, await local_model.embed_query(TEXTS[-1])) > 0.999
    assert all(
        math.isclose(math.sqrt(sum(x * x for x in v)), 1.0, rel_tol=1e-9) for v in remote_vectors
    )
    # A paraphrase still beats an unrelated text: the vectors are meaningful, not just equal.
    reset, change = remote_query, remote_vectors[4]
    assert _cosine(reset, change) > _cosine(reset, remote_vectors[2])


async def test_tokens_are_counted_as_the_local_model_counts_them(
    local_model: MiniLmEmbedder,
) -> None:
    server = FakeEmbeddingServer(local_model)
    async with remote_embedder(server) as embedder:
        assert [embedder.count_tokens(t) for t in TEXTS] == [
            local_model.count_tokens(t) for t in TEXTS
        ]
        server.reported_tokens = 0
        usage = await embedder.embed_documents_with_usage(TEXTS)
    assert (
        usage.prompt_tokens
        == server.reported_tokens
        == sum(local_model.count_tokens(t) for t in TEXTS)
    )
