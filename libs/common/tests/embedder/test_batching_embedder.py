"""The micro-batching embedder, around a hashing embedder that records every encode it gets."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

import pytest

from ragline_common.adapters.embedder import HashEmbedder
from ragline_common.adapters.embedder.batching import BatchingEmbedder, split_in_proportion
from ragline_common.ports.embedder import EmbeddingsWithUsage


class RecordingEmbedder(HashEmbedder):
    """Records each ``embed_documents`` call; can hold encodes at a gate or fail on a text."""

    def __init__(self, *, fail_on: str | None = None, gated: bool = False) -> None:
        super().__init__(dimension=32)
        self.batches: list[list[str]] = []
        self.fail_on = fail_on
        self.gate = asyncio.Event()
        if not gated:
            self.gate.set()
        self.started = asyncio.Event()
        self.running = 0
        self.max_running = 0

    async def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        self.batches.append(list(texts))
        self.running += 1
        self.max_running = max(self.max_running, self.running)
        self.started.set()
        try:
            await self.gate.wait()
            if self.fail_on is not None and self.fail_on in texts:
                raise ConnectionError("embedder went away")
            return await super().embed_documents(texts)
        finally:
            self.running -= 1


class ReleasingEmbedder(RecordingEmbedder):
    """Also records when it is told to release memory, and how many encodes were running."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.releases: list[int] = []
        """Batches encoded before each release."""

    async def release_memory(self) -> None:
        assert self.running == 0
        self.releases.append(len(self.batches))


async def expected(texts: Sequence[str]) -> list[list[float]]:
    return await HashEmbedder(dimension=32).embed_documents(texts)


async def test_concurrent_small_calls_are_coalesced_into_full_batches() -> None:
    inner = RecordingEmbedder()
    batching = BatchingEmbedder(inner, batch_size=4, max_wait_s=0.02)
    texts = [f"document number {i}" for i in range(10)]
    results = await asyncio.gather(*(batching.embed_documents([text]) for text in texts))
    assert [len(batch) for batch in inner.batches] == [4, 4, 2]
    assert results == [await expected([text]) for text in texts]


async def test_a_call_split_across_batches_gets_its_vectors_in_order() -> None:
    inner = RecordingEmbedder()
    batching = BatchingEmbedder(inner, batch_size=4, max_wait_s=0.02)
    calls = [["a1", "a2", "a3"], ["b1", "b2", "b3", "b4", "b5"], ["c1"]]
    results = await asyncio.gather(*(batching.embed_documents(texts) for texts in calls))
    assert inner.batches == [["a1", "a2", "a3", "b1"], ["b2", "b3", "b4", "b5"], ["c1"]]
    assert results == [await expected(texts) for texts in calls]


async def test_a_window_is_encoded_as_batches_of_similar_length() -> None:
    inner = RecordingEmbedder()
    batching = BatchingEmbedder(inner, batch_size=2, max_wait_s=0.02, window=6)
    # Lengths interleaved so that arrival order would pair every long text with a short one.
    calls = [["x" * 50, "y"], ["x" * 40, "yy"], ["x" * 30, "yyy"]]
    results = await asyncio.gather(*(batching.embed_documents(texts) for texts in calls))
    assert [[len(text) for text in batch] for batch in inner.batches] == [[50, 40], [30, 3], [2, 1]]
    # Sorted for the encode, yet every caller gets its own vectors in its own order.
    assert results == [await expected(texts) for texts in calls]


async def test_a_window_waits_for_the_deadline_not_just_for_one_full_batch() -> None:
    inner = RecordingEmbedder()
    batching = BatchingEmbedder(inner, batch_size=2, max_wait_s=0.1, window=6)
    first = asyncio.create_task(batching.embed_documents(["a", "bb"]))
    await asyncio.sleep(0.03)
    assert inner.batches == [], "a full batch went before the window's deadline"
    second = asyncio.create_task(batching.embed_documents(["ccc"]))
    await asyncio.gather(first, second)
    assert inner.batches == [["ccc", "bb"], ["a"]]


async def test_a_failed_batch_fails_every_caller_in_its_window() -> None:
    inner = RecordingEmbedder(fail_on="poison")
    batching = BatchingEmbedder(inner, batch_size=2, max_wait_s=0.02, window=4)
    outcomes = await asyncio.gather(
        batching.embed_documents(["a long healthy text", "poison"]),
        batching.embed_documents(["tiny", "other healthy text"]),
        return_exceptions=True,
    )
    assert all(isinstance(outcome, ConnectionError) for outcome in outcomes)
    # The failing batch came second; nothing after it in the window was encoded.
    assert inner.batches == [["a long healthy text", "other healthy text"], ["poison", "tiny"]]


async def test_lanes_encode_windows_side_by_side_and_finish_independently() -> None:
    inner = RecordingEmbedder(gated=True)
    batching = BatchingEmbedder(inner, batch_size=2, max_wait_s=0.0, window=2, lanes=2)
    first = asyncio.create_task(batching.embed_documents(["a", "b"]))
    await inner.started.wait()
    # The first lane is held at the gate; a second window gets the second lane at once.
    second = asyncio.create_task(batching.embed_documents(["c"]))
    for _ in range(100):
        if inner.running == 2:
            break
        await asyncio.sleep(0.01)
    assert inner.max_running == 2
    # A third window waits for a free lane rather than starting a third encode.
    third = asyncio.create_task(batching.embed_documents(["d"]))
    await asyncio.sleep(0.05)
    assert inner.max_running == 2
    inner.gate.set()
    assert list(await asyncio.gather(first, second, third)) == [
        await expected(["a", "b"]),
        await expected(["c"]),
        await expected(["d"]),
    ]


async def test_a_lone_call_waits_at_most_max_wait_and_a_full_batch_not_at_all() -> None:
    batching = BatchingEmbedder(RecordingEmbedder(), batch_size=4, max_wait_s=0.2)
    started = time.perf_counter()
    await batching.embed_documents(["alone"])
    assert 0.15 <= time.perf_counter() - started < 2.0

    patient = BatchingEmbedder(RecordingEmbedder(), batch_size=4, max_wait_s=30.0)
    started = time.perf_counter()
    await patient.embed_documents(["one", "two", "three", "four"])
    assert time.perf_counter() - started < 1.0


async def test_texts_arriving_during_an_encode_fill_the_next_batch() -> None:
    inner = RecordingEmbedder(gated=True)
    batching = BatchingEmbedder(inner, batch_size=4, max_wait_s=0.0)
    first = asyncio.create_task(batching.embed_documents(["first"]))
    await inner.started.wait()
    later = [asyncio.create_task(batching.embed_documents([f"later {i}"])) for i in range(5)]
    await asyncio.sleep(0.05)
    assert len(inner.batches) == 1, "a second encode started while the first was running"
    inner.gate.set()
    await asyncio.gather(first, *later)
    assert [len(batch) for batch in inner.batches] == [1, 4, 1]
    assert inner.max_running == 1


async def test_a_failed_encode_fails_every_caller_in_that_batch_and_only_them() -> None:
    inner = RecordingEmbedder(fail_on="poison")
    batching = BatchingEmbedder(inner, batch_size=3, max_wait_s=0.02)
    outcomes = await asyncio.gather(
        batching.embed_documents(["fine", "poison"]),
        # Split across the failing batch and the next: fails, and its rest is never encoded.
        batching.embed_documents(["second", "skipped"]),
        batching.embed_documents(["also fine"]),
        return_exceptions=True,
    )
    assert isinstance(outcomes[0], ConnectionError)
    assert isinstance(outcomes[1], ConnectionError)
    assert outcomes[2] == await expected(["also fine"])
    assert inner.batches == [["fine", "poison", "second"], ["also fine"]]


async def test_a_wrong_number_of_vectors_is_an_error_not_a_misrouted_vector() -> None:
    class ShortEmbedder(HashEmbedder):
        async def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
            return (await super().embed_documents(texts))[:-1]

    batching = BatchingEmbedder(ShortEmbedder(), batch_size=4, max_wait_s=0.0)
    with pytest.raises(RuntimeError, match="returned 1 vectors for 2 texts"):
        await batching.embed_documents(["one", "two"])


async def test_a_cancelled_caller_is_not_encoded() -> None:
    inner = RecordingEmbedder(gated=True)
    batching = BatchingEmbedder(inner, batch_size=4, max_wait_s=0.0)
    first = asyncio.create_task(batching.embed_documents(["first"]))
    await inner.started.wait()
    abandoned = asyncio.create_task(batching.embed_documents(["abandoned"]))
    kept = asyncio.create_task(batching.embed_documents(["kept"]))
    await asyncio.sleep(0)
    abandoned.cancel()
    inner.gate.set()
    assert await kept == await expected(["kept"])
    await first
    assert inner.batches == [["first"], ["kept"]]
    assert abandoned.cancelled()


async def test_queries_bypass_the_batch_wait() -> None:
    inner = RecordingEmbedder()
    batching = BatchingEmbedder(inner, batch_size=64, max_wait_s=30.0)
    waiting = asyncio.create_task(batching.embed_documents(["a document"]))
    await asyncio.sleep(0)
    started = time.perf_counter()
    vector = await batching.embed_query("a question")
    assert time.perf_counter() - started < 1.0
    assert vector == await HashEmbedder(dimension=32).embed_query("a question")
    assert not waiting.done()
    waiting.cancel()


async def test_nothing_to_embed_needs_no_encode_and_no_task_outlives_the_work() -> None:
    inner = RecordingEmbedder()
    batching = BatchingEmbedder(inner, batch_size=4, max_wait_s=0.0)
    assert await batching.embed_documents([]) == []
    assert inner.batches == []
    await batching.embed_documents(["one"])
    await asyncio.sleep(0)
    assert {task.get_name() for task in asyncio.all_tasks()} & {"embedding-batcher"} == set()


def test_it_describes_the_inner_model_and_refuses_nonsense_settings() -> None:
    inner = HashEmbedder(dimension=48)
    batching = BatchingEmbedder(inner, batch_size=8, max_wait_s=0.005)
    assert (batching.model_id, batching.dimension) == ("hash-48", 48)
    assert batching.count_tokens("two words") == 2
    with pytest.raises(ValueError, match="batch_size"):
        BatchingEmbedder(inner, batch_size=0, max_wait_s=0.0)
    with pytest.raises(ValueError, match="max_wait_s"):
        BatchingEmbedder(inner, batch_size=1, max_wait_s=-1.0)
    with pytest.raises(ValueError, match="lanes"):
        BatchingEmbedder(inner, batch_size=8, max_wait_s=0.0, lanes=0)
    with pytest.raises(ValueError, match="window"):
        BatchingEmbedder(inner, batch_size=8, max_wait_s=0.0, window=4)


class ReportingEmbedder(HashEmbedder):
    """A provider-like embedder that reports ``tokens_per_batch`` for every call."""

    def __init__(self, tokens_per_batch: int) -> None:
        super().__init__(dimension=32)
        self.tokens_per_batch = tokens_per_batch
        self.batches: list[list[str]] = []

    async def embed_documents_with_usage(self, texts: Sequence[str]) -> EmbeddingsWithUsage:
        self.batches.append(list(texts))
        vectors = await self.embed_documents(texts)
        return EmbeddingsWithUsage(vectors, prompt_tokens=self.tokens_per_batch, estimated=False)


async def test_a_local_embedder_bills_each_caller_its_own_token_count() -> None:
    inner = RecordingEmbedder()
    batching = BatchingEmbedder(inner, batch_size=8, max_wait_s=0.02)
    calls = [["one two three"], ["four five", "six"], ["seven eight nine ten"]]

    results = await asyncio.gather(*(batching.embed_documents_with_usage(c) for c in calls))

    assert len(inner.batches) == 1, "the three callers shared one batch"
    for texts, result in zip(calls, results, strict=True):
        assert result.prompt_tokens == sum(inner.count_tokens(text) for text in texts)
        assert not result.estimated
        assert result.vectors == await expected(texts)


async def test_a_reported_batch_total_is_split_by_token_count_and_kept_whole() -> None:
    inner = ReportingEmbedder(tokens_per_batch=100)
    batching = BatchingEmbedder(inner, batch_size=8, max_wait_s=0.02)
    calls = [["a b c d e f g h i"], ["j"]]  # 9 and 1 local tokens

    results = await asyncio.gather(*(batching.embed_documents_with_usage(c) for c in calls))

    assert len(inner.batches) == 1
    assert [result.prompt_tokens for result in results] == [90, 10]
    assert all(result.estimated for result in results), "the provider counted 100, not 10"


async def test_a_caller_alone_in_its_batches_gets_the_reported_tokens_exactly() -> None:
    inner = ReportingEmbedder(tokens_per_batch=7)
    batching = BatchingEmbedder(inner, batch_size=2, max_wait_s=0.0)

    result = await batching.embed_documents_with_usage(["x", "y", "z"])

    assert len(inner.batches) == 2
    assert result.prompt_tokens == 14
    assert not result.estimated


@pytest.mark.parametrize(
    ("total", "weights", "shares"),
    [
        (10, [1, 1, 1], [4, 3, 3]),
        (7, [0, 0], [4, 3]),
        (0, [5, 5], [0, 0]),
        (101, [3, 1], [76, 25]),
        (5, [], []),
    ],
)
def test_split_in_proportion_keeps_the_total(
    total: int, weights: list[int], shares: list[int]
) -> None:
    assert split_in_proportion(total, weights) == shares
    assert sum(shares) == (total if weights else 0)


async def test_memory_is_released_once_when_the_last_lane_runs_dry() -> None:
    inner = ReleasingEmbedder(gated=True)
    batching = BatchingEmbedder(inner, batch_size=2, max_wait_s=0.01, window=2)
    first = asyncio.create_task(batching.embed_documents(["a", "b"]))
    await inner.started.wait()
    # More work arrives while the first window encodes: the lane goes on, nothing is released.
    second = asyncio.create_task(batching.embed_documents(["c", "d", "e"]))
    await asyncio.sleep(0.05)
    inner.gate.set()
    await asyncio.gather(first, second)
    await asyncio.sleep(0)  # the release is a task of its own
    assert inner.releases == [3]
    # A later burst is released again, after its own batches.
    await batching.embed_documents(["f"])
    await asyncio.sleep(0)
    assert inner.releases == [3, 4]
