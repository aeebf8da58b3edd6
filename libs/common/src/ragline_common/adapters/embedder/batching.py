"""Micro-batching of document embedding: many small ``embed_documents`` calls, few full encodes.

The ingestion worker embeds one document at a time, and most documents are a chunk or two.
Encoding each on its own keeps the model at batch size 1-2, where the fixed cost of a call
(thread hop, tokenizer set-up, matrix products too small to use every core) dominates: on two
cores that is several times slower than one encode of 64 chunks. :class:`BatchingEmbedder`
wraps any :class:`~ragline_common.ports.embedder.Embedder` and coalesces the texts of
concurrent callers into batches of up to ``batch_size``:

- a batch goes as soon as it is full, or once its oldest text has waited ``max_wait_s``
  (a deadline, not an idle timer: a steady trickle of callers cannot postpone a batch forever);
- one encode runs at a time (the inner embedder already keeps it off the event loop); while it
  runs, the next batch fills up, so under load every batch after the first is full at once;
- a caller's texts may be split across batches; it gets its vectors in order once all are back,
  and if an encode fails, every caller with texts in that batch gets the exception;
- a caller that is cancelled is dropped from batches not yet started.

The flushing task exists only while texts are waiting or being encoded, so there is nothing to
start or stop. ``embed_query`` is not batched: a search must not wait for a batch to fill.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from ragline_common.ports.embedder import Embedder

_Vectors = list[list[float]]


@dataclass(eq=False)
class _Request:
    """One ``embed_documents`` call waiting for its vectors."""

    texts: list[str]
    future: asyncio.Future[_Vectors]
    arrived_at: float
    vectors: list[list[float]] = field(default_factory=list)
    taken: int = 0
    """Texts already handed to a batch (they are taken in order)."""

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

    def __init__(self, inner: Embedder, *, batch_size: int, max_wait_s: float) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        if max_wait_s < 0:
            raise ValueError("max_wait_s must not be negative")
        self._inner = inner
        self._batch_size = batch_size
        self._max_wait_s = max_wait_s
        self._pending: deque[_Request] = deque()
        self._untaken = 0
        self._arrived = asyncio.Event()
        self._flusher: asyncio.Task[None] | None = None
        # Every request whose future is not settled yet: failed together if the flusher dies.
        self._open: set[_Request] = set()

    @property
    def model_id(self) -> str:
        return self._inner.model_id

    @property
    def dimension(self) -> int:
        return self._inner.dimension

    async def warm_up(self) -> None:
        await self._inner.warm_up()

    def count_tokens(self, text: str) -> int:
        return self._inner.count_tokens(text)

    async def embed_query(self, text: str) -> list[float]:
        return await self._inner.embed_query(text)

    async def embed_documents(self, texts: Sequence[str]) -> _Vectors:
        if not texts:
            return []
        loop = asyncio.get_running_loop()
        request = _Request(list(texts), loop.create_future(), arrived_at=loop.time())
        self._pending.append(request)
        self._open.add(request)
        request.future.add_done_callback(lambda _: self._open.discard(request))
        self._untaken += len(request.texts)
        self._arrived.set()
        if self._flusher is None:
            # An empty context: the flusher serves every caller, so it must not carry the
            # log fields (tenant, document) of whichever caller happened to start it.
            self._flusher = loop.create_task(
                self._flush_while_pending(),
                name="embedding-batcher",
                context=contextvars.Context(),
            )
        # Cancelling the caller cancels the future, and a cancelled request is skipped.
        return await request.future

    async def _flush_while_pending(self) -> None:
        try:
            while self._pending:
                await self._wait_for_batch()
                parts = self._take_batch()
                if parts:
                    await self._encode(parts)
        finally:
            # Normally every request is settled by now. If this task was cancelled (the
            # event loop is shutting down) or broke, nobody else would ever settle them.
            self._flusher = None
            for request in list(self._open):
                request.future.cancel()

    async def _wait_for_batch(self) -> None:
        """Return when a full batch is waiting or the oldest waiting text is due."""
        loop = asyncio.get_running_loop()
        deadline = self._pending[0].arrived_at + self._max_wait_s
        while self._untaken < self._batch_size:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            self._arrived.clear()
            try:
                async with asyncio.timeout(remaining):
                    await self._arrived.wait()
            except TimeoutError:
                return

    def _take_batch(self) -> list[_Part]:
        parts: list[_Part] = []
        size = 0
        while self._pending and size < self._batch_size:
            request = self._pending[0]
            if request.future.done():
                # Cancelled by its caller, or failed with an earlier batch.
                self._pending.popleft()
                self._untaken -= request.untaken
                continue
            count = min(self._batch_size - size, request.untaken)
            parts.append(_Part(request, request.taken, request.taken + count))
            request.taken += count
            self._untaken -= count
            size += count
            if request.untaken == 0:
                self._pending.popleft()
        return parts

    async def _encode(self, parts: list[_Part]) -> None:
        texts = [text for part in parts for text in part.request.texts[part.start : part.end]]
        try:
            vectors = await self._inner.embed_documents(texts)
            if len(vectors) != len(texts):
                # Vectors are routed back by position: a short answer would misattribute them.
                raise RuntimeError(
                    f"the embedder returned {len(vectors)} vectors for {len(texts)} texts"
                )
        except Exception as exc:
            for part in parts:
                if not part.request.future.done():
                    part.request.future.set_exception(exc)
            return
        offset = 0
        for part in parts:
            request = part.request
            count = part.end - part.start
            request.vectors.extend(vectors[offset : offset + count])
            offset += count
            if len(request.vectors) == len(request.texts) and not request.future.done():
                request.future.set_result(request.vectors)
