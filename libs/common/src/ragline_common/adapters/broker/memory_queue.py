"""Where the in-process broker's messages wait, and how a routing key finds its queues.

A queue holds whatever record the broker keeps of a message and knows nothing of its content:
delivery limits, retries and dead letters are :mod:`.memory`'s, as they are RabbitMQ's
decisions and not its queues'. Topic matching follows AMQP's rules, so bindings route alike
on both brokers.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class MemoryQueue(Generic[T]):
    """FIFO of ready messages that consumers can wait on and operators can inspect."""

    def __init__(self) -> None:
        self._ready: deque[T] = deque()
        self._changed = asyncio.Event()

    def __len__(self) -> int:
        return len(self._ready)

    def put(self, message: T) -> None:
        self._ready.append(message)
        self._changed.set()

    async def get(self) -> T:
        while not self._ready:
            self._changed.clear()
            await self._changed.wait()
        return self._ready.popleft()

    def snapshot(self) -> list[T]:
        return list(self._ready)

    def window(self, count: int) -> list[T]:
        """The first ``count`` messages, moved to the back, as RabbitMQ does with returned ones."""
        front = list(itertools.islice(self._ready, count))
        self._ready.rotate(-len(front))
        return front

    def take(self, matches: Callable[[T], bool], *, limit: int | None = None) -> list[T]:
        """Remove and return the (first ``limit``) messages ``matches`` selects, in order."""
        taken: list[T] = []
        kept: deque[T] = deque()
        for message in self._ready:
            if (limit is None or len(taken) < limit) and matches(message):
                taken.append(message)
            else:
                kept.append(message)
        self._ready = kept
        return taken


def topic_matches(pattern: str, routing_key: str) -> bool:
    """AMQP topic matching: ``*`` is exactly one word, ``#`` zero or more."""
    return _match_words(pattern.split("."), routing_key.split("."))


def _match_words(pattern: list[str], words: list[str]) -> bool:
    if not pattern:
        return not words
    head, rest = pattern[0], pattern[1:]
    if head == "#":
        return any(_match_words(rest, words[i:]) for i in range(len(words) + 1))
    return bool(words) and head in ("*", words[0]) and _match_words(rest, words[1:])
