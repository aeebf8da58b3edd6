"""Micro-batching of document embedding: many small ``embed_documents`` calls, few full encodes.

The ingestion worker embeds one document at a time, and most documents are a chunk or two.
Encoding each on its own keeps the model at batch size 1-2, where the fixed cost of a call
(thread hop, tokenizer set-up, matrix products too small to use every core) dominates: on two
cores that is several times slower than one encode of 64 chunks. :class:`BatchingEmbedder`
wraps any :class:`~ragline_common.ports.embedder.Embedder` and coalesces the texts of
concurrent callers into batches of up to ``batch_size``.

A batch is padded to its longest text, so a batch mixing a 30-token tail with 250-token chunks
pays for 250 tokens sixteen times: with SciFact's chunks in arrival order that is 38% more
tokens than the texts hold. ``model.encode`` over a whole corpus sorts by length first and
pays almost nothing; the batcher does the same within a *window*: it takes up to ``window``
waiting texts, sorts them by length and encodes them as consecutive batches (a window of 128
cuts the padding to about 7%).

- a window goes as soon as it is full, or once its oldest text has waited ``max_wait_s``
  (a deadline, not an idle timer: a steady trickle of callers cannot postpone it forever);
- ``lanes`` windows are encoded at a time (the inner embedder keeps encodes off the event loop
  and bounds how many run at once); while they run, the next window fills up, so under load
  windows are as full as the work in flight allows;
- a caller's texts may be spread over batches and windows; it gets its vectors in order once
  all are back, and if an encode fails, every caller with texts in that window gets the exception;
- a caller that is cancelled is dropped from batches not yet started.

The flushing task exists only while texts are waiting or being encoded, so there is nothing to
start or stop; when the last lane runs dry, an inner embedder that can
(:class:`~ragline_common.ports.embedder.ReleasesMemory`) is told to give back the memory its
batches grew. ``embed_query`` is not batched: a search must not wait for a batch to fill.

Usage (:meth:`BatchingEmbedder.embed_documents_with_usage`): a batch's prompt tokens are what
the inner embedder reports (:class:`~ragline_common.ports.embedder.ReportsUsage`) or else its
own ``count_tokens`` of the texts, and they are split among the callers whose texts shared the
batch in proportion to those texts' ``count_tokens`` (largest remainder, so the shares add up
to the batch's total). A share of a reported total is flagged ``estimated`` when the local
count and the provider's disagree.

Those counts are not taken twice: the worker's chunker measures every chunk with this class's
``count_tokens`` (its last count of a chunk is of exactly the chunk's text), and the batcher
remembers the latest ``REMEMBERED_COUNTS`` answers, so weighing a batch is mostly look-ups. A
text that was never counted, or was forgotten, is simply counted again.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections import OrderedDict, deque
from collections.abc import Sequence
from dataclasses import dataclass, field

import structlog

from ragline_common.ports.embedder import (
    Embedder,
    EmbeddingsWithUsage,
    ReleasesMemory,
    ReportsUsage,
)
from ragline_common.settings import EmbedderSettings

_Vectors = list[list[float]]
_log = structlog.get_logger(__name__)

REMEMBERED_COUNTS = 8192
"""Token counts kept for the batches to come. The chunker counts every sentence as well as
every chunk, about six texts per chunk, and the worker chunks up to ``concurrency`` documents
while earlier ones wait for their window: 8,192 answers cover 128 documents of a dozen chunks.
Bounded, since it holds the texts (at most a chunk each) until they are used or pushed out."""


def worker_batch_size(inner: Embedder, settings: EmbedderSettings) -> int:
    """Texts per ``embed_documents`` call of the worker's batcher around ``inner``.

    A local model is fastest at ``batch_size`` (CPU caches and attention memory, see
    :class:`EmbedderSettings`). A remote provider (one that reports usage) costs a round trip
    per call and splits calls into requests of ``request_batch_size`` itself, so batches of
    16 would only multiply the requests by four: it gets the larger of the two.
    """
    if isinstance(inner, ReportsUsage):
        return max(settings.batch_size, settings.request_batch_size)
    return settings.batch_size


@dataclass(eq=False)
class _Request:
    """One ``embed_documents`` call waiting for its vectors."""

    texts: list[str]
    future: asyncio.Future[_Vectors]
    arrived_at: float
    vectors: dict[int, list[float]] = field(default_factory=dict)
    """Vectors by the position of their text: windows encode texts out of order."""
    taken: int = 0
    """Texts already handed to a batch (they are taken in order)."""
    prompt_tokens: int = 0
    """This caller's share of the tokens of the batches its texts were in."""
    estimated: bool = False

    @property
    def untaken(self) -> int:
        return len(self.texts) - self.taken


@dataclass(frozen=True)
class _Part:
    """The slice ``texts[start:end]`` of one request, within one batch."""

    request: _Request
    start: int
    end: int


class BatchingEmbedder:
    """An :class:`~ragline_common.ports.embedder.Embedder` that batches ``embed_documents``."""

    def __init__(
        self,
        inner: Embedder,
        *,
        batch_size: int,
        max_wait_s: float,
        window: int | None = None,
        lanes: int = 1,
    ) -> None:
        """``window`` (default: ``batch_size``, no sorting) is how many texts are length-sorted
        together; larger windows pad less but hold a lone caller's vectors a little longer.
        ``lanes`` is how many windows may be encoding at once: one per encode the inner
        embedder runs in parallel (see ``EmbedderSettings.parallel_encodes``)."""
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        if lanes < 1:
            raise ValueError("lanes must be at least 1")
        if max_wait_s < 0:
            raise ValueError("max_wait_s must not be negative")
        window = batch_size if window is None else window
        if window < batch_size:
            raise ValueError("window must be at least batch_size")
        self._inner = inner
        self._batch_size = batch_size
        self._window = window
        self._lanes = lanes
        self._max_wait_s = max_wait_s
        self._pending: deque[_Request] = deque()
        self._untaken = 0
        self._arrived = asyncio.Event()
        self._flushers: set[asyncio.Task[None]] = set()
        self._releases: set[asyncio.Task[None]] = set()
        # Written from the chunkers' worker threads, read on the event loop.
        self._counts: OrderedDict[str, int] = OrderedDict()
        self._counts_lock = threading.Lock()

    @property
    def model_id(self) -> str:
        return self._inner.model_id

    @property
    def dimension(self) -> int:
        return self._inner.dimension

    async def warm_up(self) -> None:
        await self._inner.warm_up()

    def count_tokens(self, text: str) -> int:
        """The inner embedder's count, remembered for weighing the batch ``text`` joins."""
        count = self._inner.count_tokens(text)
        with self._counts_lock:
            self._counts[text] = count
            self._counts.move_to_end(text)
            if len(self._counts) > REMEMBERED_COUNTS:
                self._counts.popitem(last=False)
        return count

    async def embed_query(self, text: str) -> list[float]:
        return await self._inner.embed_query(text)

    async def embed_documents(self, texts: Sequence[str]) -> _Vectors:
        return (await self.embed_documents_with_usage(texts)).vectors

    async def embed_documents_with_usage(self, texts: Sequence[str]) -> EmbeddingsWithUsage:
        """The caller's vectors and its share of the prompt tokens (see the module docstring)."""
        if not texts:
            return EmbeddingsWithUsage([], prompt_tokens=0, estimated=False)
        loop = asyncio.get_running_loop()
        request = _Request(list(texts), loop.create_future(), arrived_at=loop.time())
        self._pending.append(request)
        self._untaken += len(request.texts)
        self._arrived.set()
        if len(self._flushers) < self._lanes:
            # An empty context: a flusher serves every caller, so it must not carry the
            # log fields (tenant, document) of whichever caller happened to start it.
            flusher = loop.create_task(
                self._flush_while_pending(),
                name="embedding-batcher",
                context=contextvars.Context(),
            )
            self._flushers.add(flusher)
            flusher.add_done_callback(self._flushers.discard)
        # Cancelling the caller cancels the future, and a cancelled request is skipped.
        vectors = await request.future
        return EmbeddingsWithUsage(
            vectors, prompt_tokens=request.prompt_tokens, estimated=request.estimated
        )

    async def _flush_while_pending(self) -> None:
        """One lane: take a window, encode it, repeat while texts are waiting."""
        parts: list[_Part] = []
        try:
            while self._pending:
                await self._wait_for_window()
                parts = self._take_window()
                if parts:
                    await self._encode(parts)
                parts = []
            if self._flushers <= {asyncio.current_task()}:
                self._release_idle_memory()
        finally:
            # Normally every request this lane took is settled by now. If the lane was
            # cancelled (the event loop is shutting down) or broke, nobody else would settle
            # its window, nor, if it is the last lane, what is still waiting.
            abandoned = {part.request for part in parts}
            if self._flushers <= {asyncio.current_task()}:
                abandoned.update(self._pending)
            for request in abandoned:
                request.future.cancel()
            # Gone from the lanes now, not when the done callback runs: a caller woken by this
            # lane's last result may call again in between, and must then start a new lane
            # (its texts would otherwise wait for a lane that has already stopped looking).
            self._flushers.discard(asyncio.current_task())

    def _release_idle_memory(self) -> None:
        """The last lane found nothing waiting: let the inner embedder give back what the
        batches grew (:class:`~ragline_common.ports.embedder.ReleasesMemory`).

        At once rather than after a pause: the release (a few milliseconds) is done before the
        last document's status has gone through the store, the broker and the catalog, so
        whoever waited for the bulk load (a benchmark about to measure the serving process)
        finds the memory gone. Under a
        steady load the lanes rarely run dry (twice while a monolith indexed 400 SciFact
        documents), and growing the memory again costs the next window about 1-2% of its
        encode (page faults; measured releasing after every 128 texts).
        """
        if not isinstance(self._inner, ReleasesMemory):
            return
        release = asyncio.get_running_loop().create_task(
            self._release(self._inner), name="embedding-release", context=contextvars.Context()
        )
        self._releases.add(release)
        release.add_done_callback(self._releases.discard)

    @staticmethod
    async def _release(inner: ReleasesMemory) -> None:
        try:
            await inner.release_memory()
        except Exception:  # a failed release leaves memory held, nothing else
            _log.warning("embedder_release_failed", exc_info=True)

    async def _wait_for_window(self) -> None:
        """Return when a full window is waiting or the oldest waiting text is due."""
        loop = asyncio.get_running_loop()
        deadline = self._pending[0].arrived_at + self._max_wait_s
        while self._untaken < self._window:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            self._arrived.clear()
            try:
                async with asyncio.timeout(remaining):
                    await self._arrived.wait()
            except TimeoutError:
                return

    def _take_window(self) -> list[_Part]:
        parts: list[_Part] = []
        size = 0
        while self._pending and size < self._window:
            request = self._pending[0]
            if request.future.done():
                # Cancelled by its caller, or failed with an earlier batch.
                self._pending.popleft()
                self._untaken -= request.untaken
                continue
            count = min(self._window - size, request.untaken)
            parts.append(_Part(request, request.taken, request.taken + count))
            request.taken += count
            self._untaken -= count
            size += count
            if request.untaken == 0:
                self._pending.popleft()
        return parts

    async def _encode(self, parts: list[_Part]) -> None:
        """Encode one window: its texts longest first, ``batch_size`` at a time."""
        slots = [(part.request, index) for part in parts for index in range(part.start, part.end)]
        if len(slots) > self._batch_size:
            # Character length stands in for token length, as in sentence-transformers' sort.
            slots.sort(key=lambda slot: len(slot[0].texts[slot[1]]), reverse=True)
        requests = {request for request, _ in slots}
        for start in range(0, len(slots), self._batch_size):
            batch = [(request, i) for request, i in slots[start : start + self._batch_size]]
            batch = [(request, i) for request, i in batch if not request.future.done()]
            if not batch:
                continue
            texts = [request.texts[i] for request, i in batch]
            # Weighed once per batch, from the chunker's counts where it took them: the
            # callers' shares, and the total when the inner embedder reports none (tokenising
            # here would be work on the event loop).
            weights = [self._counted(text) for text in texts]
            try:
                usage = await self._embed_batch(texts, weights)
                vectors = usage.vectors
                if len(vectors) != len(texts):
                    # Vectors are routed back by position: a short answer would misattribute them.
                    raise RuntimeError(
                        f"the embedder returned {len(vectors)} vectors for {len(texts)} texts"
                    )
            except Exception as exc:
                for request in requests:
                    if not request.future.done():
                        request.future.set_exception(exc)
                return
            self._share_tokens(batch, weights, usage)
            for (request, i), vector in zip(batch, vectors, strict=True):
                request.vectors[i] = vector
                if len(request.vectors) == len(request.texts) and not request.future.done():
                    request.future.set_result(
                        [request.vectors[j] for j in range(len(request.texts))]
                    )

    def _counted(self, text: str) -> int:
        """``text``'s count as the chunker took it (forgotten once used), else a fresh one."""
        with self._counts_lock:
            count = self._counts.pop(text, None)
        return self._inner.count_tokens(text) if count is None else count

    async def _embed_batch(self, texts: list[str], weights: Sequence[int]) -> EmbeddingsWithUsage:
        if isinstance(self._inner, ReportsUsage):
            return await self._inner.embed_documents_with_usage(texts)
        vectors = await self._inner.embed_documents(texts)
        return EmbeddingsWithUsage(vectors, prompt_tokens=sum(weights), estimated=False)

    def _share_tokens(
        self,
        batch: list[tuple[_Request, int]],
        weights: Sequence[int],
        usage: EmbeddingsWithUsage,
    ) -> None:
        shares = split_in_proportion(usage.prompt_tokens, weights)
        # A share is exact when the batch had one caller, or when the local count is the total.
        approximate = len({request for request, _ in batch}) > 1 and sum(weights) != (
            usage.prompt_tokens
        )
        for (request, _), share in zip(batch, shares, strict=True):
            request.prompt_tokens += share
            request.estimated = request.estimated or usage.estimated or approximate


def split_in_proportion(total: int, weights: Sequence[int]) -> list[int]:
    """``total`` split by ``weights`` into whole numbers that add up to ``total`` exactly
    (largest remainder); equal weights stand in when every weight is zero."""
    if not weights:
        return []
    if sum(weights) <= 0:
        weights = [1] * len(weights)
    whole = sum(weights)
    shares = [total * weight // whole for weight in weights]
    by_remainder = sorted(
        range(len(weights)), key=lambda index: total * weights[index] % whole, reverse=True
    )
    for index in by_remainder[: total - sum(shares)]:
        shares[index] += 1
    return shares
