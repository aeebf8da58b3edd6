"""The remote embedder against a local server that speaks the protocol: batching, order,
vector checks, dimension discovery and token accounting.

The server's engine here is the hashing embedder: these tests are about the protocol, and
need no model. ``test_openai_embedder_model`` compares against the real local model.
"""

from __future__ import annotations

import math

import pytest

from ragline_common.adapters.embedder import HashEmbedder
from ragline_common.adapters.embedder.openai_compatible import OpenAICompatibleEmbedder
from ragline_common.adapters.embedder.remote_failures import EmbeddingResponseInvalid
from ragline_common.observability.metrics import REGISTRY
from ragline_common.settings import EmbedderSettings
from ragline_testing.embedding_server import FakeEmbeddingServer, remote_embedder
from ragline_testing.harness import serve_asgi

MODEL = "remote-hash"
TEXTS = [f"document {i} about {word}" for i, word in enumerate("abcdefghij" * 2)]


def _cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return dot / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))


def _norm(vector: list[float]) -> float:
    return math.sqrt(sum(x * x for x in vector))


async def test_vectors_come_back_in_order_in_batches_of_the_configured_size() -> None:
    engine = HashEmbedder(64)
    server = FakeEmbeddingServer(engine, model=MODEL)
    async with remote_embedder(server, request_batch_size=3) as embedder:
        server.requests.clear()
        vectors = await embedder.embed_documents(TEXTS)
    assert server.batch_sizes == [3, 3, 3, 3, 3, 3, 2]
    expected = await engine.embed_documents(TEXTS)
    assert [_cosine(a, b) for a, b in zip(vectors, expected, strict=True)] == pytest.approx(
        [1.0] * len(TEXTS), abs=1e-6
    )


async def test_the_providers_input_cap_bounds_a_larger_batch_size() -> None:
    # A provider refusing more than 4 inputs per request (400): the cap keeps every request valid.
    server = FakeEmbeddingServer(HashEmbedder(64), model=MODEL, max_inputs=4)
    async with remote_embedder(server, request_batch_size=64, max_inputs_per_request=4) as embedder:
        server.requests.clear()
        vectors = await embedder.embed_documents(TEXTS)
    assert len(vectors) == len(TEXTS)
    assert max(server.batch_sizes) == 4 and sum(server.batch_sizes) == len(TEXTS)


async def test_requests_stay_within_the_token_budget_and_inputs_within_the_token_limit() -> None:
    server = FakeEmbeddingServer(HashEmbedder(64), model=MODEL)
    long_text = " ".join(f"word{i}" for i in range(400))
    async with remote_embedder(server, max_input_tokens=50, max_request_tokens=120) as embedder:
        server.requests.clear()
        texts = ["short one", long_text, "another short text", long_text]
        vectors = await embedder.embed_documents(texts)
        sent = [text for body in server.requests for text in body["input"]]
        assert len(vectors) == 4 and len(sent) == 4
        assert all(embedder.count_tokens(text) <= 50 for text in sent)
        assert sent[1] == sent[3] and long_text.startswith(sent[1]) and sent[1] != long_text
        for body in server.requests:
            assert sum(embedder.count_tokens(text) for text in body["input"]) <= 120


async def test_vectors_are_normalised_even_when_the_provider_does_not() -> None:
    server = FakeEmbeddingServer(HashEmbedder(64), model=MODEL, scale=7.5)
    async with remote_embedder(server) as embedder:
        vectors = await embedder.embed_documents(["first text", "second text"])
        query = await embedder.embed_query("a query")
    assert [_norm(v) for v in [*vectors, query]] == pytest.approx([1.0, 1.0, 1.0], rel=1e-9)


async def test_the_dimension_is_discovered_in_warm_up_and_the_model_id_is_the_remote_name() -> None:
    server = FakeEmbeddingServer(HashEmbedder(48), model="text-embedding-remote")
    async with remote_embedder(server) as embedder:
        assert embedder.dimension == 48
        assert embedder.model_id == "text-embedding-remote"
        assert server.batch_sizes == [1]  # the probe


async def test_without_a_configured_dimension_it_is_unknown_before_warm_up() -> None:
    cold = OpenAICompatibleEmbedder(base_url="http://127.0.0.1:9/v1", model=MODEL)
    with pytest.raises(RuntimeError, match="warm_up"):
        _ = cold.dimension
    with pytest.raises(RuntimeError, match="warm_up"):
        cold.count_tokens("hello")
    await cold.aclose()
    configured = OpenAICompatibleEmbedder(
        base_url="http://127.0.0.1:9/v1", model=MODEL, dimension=1536
    )
    assert configured.dimension == 1536
    await configured.aclose()


async def test_a_configured_dimension_the_model_does_not_have_fails_warm_up() -> None:
    server = FakeEmbeddingServer(HashEmbedder(64), model=MODEL)
    with pytest.raises(
        EmbeddingResponseInvalid, match=r"64-dimensional.*configured dimension is 384"
    ):
        async with remote_embedder(server, dimension=384):
            pass


async def test_vectors_of_the_wrong_size_are_refused_never_returned() -> None:
    server = FakeEmbeddingServer(HashEmbedder(64), model=MODEL)
    async with remote_embedder(server, dimension=64) as embedder:
        server.answer_dimension = 32  # the provider now serves another model
        with pytest.raises(EmbeddingResponseInvalid, match="32-dimensional") as refused:
            await embedder.embed_documents(["a chunk to index"])
    assert refused.value.code == "embedding_response_invalid"


async def test_a_zero_vector_is_refused() -> None:
    server = FakeEmbeddingServer(HashEmbedder(64), model=MODEL)
    async with remote_embedder(server) as embedder:
        server.scale = 0.0
        with pytest.raises(EmbeddingResponseInvalid, match="zero or non-finite"):
            await embedder.embed_query("anything")


def _tokens_counted(source: str) -> float:
    value = REGISTRY.get_sample_value(
        "ragline_embedding_provider_tokens_total", {"model": MODEL, "source": source}
    )
    return value or 0.0


async def test_reported_prompt_tokens_are_returned_per_call_and_counted_by_model() -> None:
    server = FakeEmbeddingServer(HashEmbedder(64), model=MODEL)
    async with remote_embedder(server, request_batch_size=4) as embedder:
        before = _tokens_counted("reported")
        server.reported_tokens = 0
        result = await embedder.embed_documents_with_usage(TEXTS)
        assert result.prompt_tokens == server.reported_tokens > 0
        assert not result.estimated
        assert _tokens_counted("reported") - before == result.prompt_tokens


async def test_without_reported_usage_the_local_estimate_is_charged_and_flagged() -> None:
    server = FakeEmbeddingServer(HashEmbedder(64), model=MODEL, report_usage=False)
    async with remote_embedder(server) as embedder:
        before = _tokens_counted("estimated")
        result = await embedder.embed_documents_with_usage(["one two three", "four five"])
        expected = embedder.count_tokens("one two three") + embedder.count_tokens("four five")
    assert result.estimated and result.prompt_tokens == expected
    assert _tokens_counted("estimated") - before == expected


async def test_no_texts_cost_no_request() -> None:
    server = FakeEmbeddingServer(HashEmbedder(64), model=MODEL)
    async with remote_embedder(server) as embedder:
        server.requests.clear()
        assert await embedder.embed_documents([]) == []
    assert server.requests == []


async def test_the_settings_select_the_provider_and_the_key_stays_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = FakeEmbeddingServer(HashEmbedder(24), model="text-embedding-3-small", api_key="sk-x")
    async with serve_asgi(server.app()) as url:
        for name, value in {
            "KIND": "openai",
            "BASE_URL": f"{url}/v1",
            "MODEL": "text-embedding-3-small",
            "API_KEY": "sk-x",
            "DIMENSION": "24",
            "REQUEST_BATCH_SIZE": "2",
        }.items():
            monkeypatch.setenv(f"RAGLINE_EMBEDDER_{name}", value)
        settings = EmbedderSettings()
        assert "sk-x" not in repr(settings)
        embedder = OpenAICompatibleEmbedder.from_settings(settings)
        try:
            await embedder.warm_up()
            server.requests.clear()
            await embedder.embed_documents(["a", "b", "c"])
        finally:
            await embedder.aclose()
    assert embedder.model_id == "text-embedding-3-small" and embedder.dimension == 24
    assert server.batch_sizes == [2, 1]
    assert server.authorizations[-1] == "Bearer sk-x"


def test_the_provider_needs_a_base_url_and_a_model() -> None:
    with pytest.raises(ValueError, match="RAGLINE_EMBEDDER_BASE_URL"):
        OpenAICompatibleEmbedder.from_settings(EmbedderSettings(kind="openai", model="m"))
