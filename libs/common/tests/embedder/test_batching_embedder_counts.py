"""The batcher's token counts: taken once per text (the chunker's count is reused), and the
worker's batch size for a remote provider."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence

import pytest

from ragline_common.adapters.embedder import HashEmbedder
from ragline_common.adapters.embedder import batching as batching_module
from ragline_common.adapters.embedder.batching import BatchingEmbedder, worker_batch_size
from ragline_common.ports.embedder import EmbeddingsWithUsage
from ragline_common.settings import EmbedderSettings


class CountingEmbedder(HashEmbedder):
    """Records how often each text was tokenised."""

    def __init__(self) -> None:
        super().__init__(dimension=32)
        self.counted: Counter[str] = Counter()

    def count_tokens(self, text: str) -> int:
        self.counted[text] += 1
        return super().count_tokens(text)


class ReportingEmbedder(HashEmbedder):
    """Stands in for a remote provider: it reports what a call cost."""

    async def embed_documents_with_usage(self, texts: Sequence[str]) -> EmbeddingsWithUsage:
        vectors = await self.embed_documents(texts)
        return EmbeddingsWithUsage(vectors, prompt_tokens=7 * len(texts), estimated=False)


TEXTS = ["the first chunk of text", "a second one", "and a third, somewhat longer, chunk"]


async def test_texts_counted_before_embedding_are_not_tokenised_again() -> None:
    inner = CountingEmbedder()
    batching = BatchingEmbedder(inner, batch_size=2, max_wait_s=0.0)
    counts = [batching.count_tokens(text) for text in TEXTS]  # what the chunker does

    result = await batching.embed_documents_with_usage(TEXTS)

    assert inner.counted == Counter(TEXTS)
    assert result.prompt_tokens == sum(counts)
    assert not result.estimated


async def test_texts_never_counted_or_forgotten_are_counted_afresh(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(batching_module, "REMEMBERED_COUNTS", 2)
    inner = CountingEmbedder()
    batching = BatchingEmbedder(inner, batch_size=8, max_wait_s=0.0)
    for text in TEXTS:
        batching.count_tokens(text)  # the first is pushed out by the third

    result = await batching.embed_documents_with_usage([*TEXTS, "never counted"])

    assert inner.counted == Counter({TEXTS[0]: 2, TEXTS[1]: 1, TEXTS[2]: 1, "never counted": 1})
    expected = sum(HashEmbedder(dimension=32).count_tokens(t) for t in [*TEXTS, "never counted"])
    assert result.prompt_tokens == expected


async def test_a_remembered_count_is_used_once_then_counted_again() -> None:
    inner = CountingEmbedder()
    batching = BatchingEmbedder(inner, batch_size=2, max_wait_s=0.0)
    batching.count_tokens(TEXTS[0])

    first = await batching.embed_documents_with_usage([TEXTS[0]])
    second = await batching.embed_documents_with_usage([TEXTS[0]])

    # The same text in a later document is weighed again rather than kept forever.
    assert inner.counted[TEXTS[0]] == 2
    assert first.prompt_tokens == second.prompt_tokens == 5


async def test_a_call_made_as_soon_as_the_last_result_is_back_is_served() -> None:
    # The caller wakes before the finished lane's done callback runs; its next call used to
    # find that lane still registered, start none, and wait forever.
    batching = BatchingEmbedder(HashEmbedder(dimension=32), batch_size=2, max_wait_s=0.0)
    await batching.embed_documents(["first"])
    async with asyncio.timeout(2):
        second = await batching.embed_documents(["second"])
    assert second == await HashEmbedder(dimension=32).embed_documents(["second"])


def test_a_remote_provider_gets_batches_of_its_request_size_and_a_local_model_not() -> None:
    settings = EmbedderSettings(batch_size=16, request_batch_size=64)
    assert worker_batch_size(HashEmbedder(dimension=8), settings) == 16
    assert worker_batch_size(ReportingEmbedder(dimension=8), settings) == 64
    small_requests = EmbedderSettings(batch_size=16, request_batch_size=8)
    assert worker_batch_size(ReportingEmbedder(dimension=8), small_requests) == 16
