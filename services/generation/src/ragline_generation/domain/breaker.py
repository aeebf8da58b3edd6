"""A circuit breaker for the language model: stop calling a model that keeps failing.

Closed, it counts consecutive failures; at the threshold it opens, and for ``reset_s`` every
answer goes extractive at once instead of waiting for a timeout the model will probably hit
again. Then it lets one trial call through (half-open): success closes it, failure reopens it.
State is per process, which is enough: each replica learns the model is down within a few calls.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

BreakerState = Literal["closed", "open", "half_open"]


class CircuitBreaker:
    def __init__(
        self,
        *,
        failure_threshold: int,
        reset_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._threshold = failure_threshold
        self._reset_s = reset_s
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_running = False

    @property
    def state(self) -> BreakerState:
        if self._opened_at is None:
            return "closed"
        if self._clock() - self._opened_at >= self._reset_s:
            return "half_open"
        return "open"

    def allow(self) -> bool:
        """Whether a call may go out now; in half-open state only one trial at a time."""
        match self.state:
            case "closed":
                return True
            case "open":
                return False
            case "half_open":
                if self._trial_running:
                    return False
                self._trial_running = True
                return True

    def succeeded(self) -> None:
        self._failures = 0
        self._opened_at = None
        self._trial_running = False

    def failed(self) -> None:
        self._trial_running = False
        if self._opened_at is not None:
            self._opened_at = self._clock()  # the trial failed: stay open for another period
            return
        self._failures += 1
        if self._failures >= self._threshold:
            self._opened_at = self._clock()

    def abandoned(self) -> None:
        """The call ended without a verdict (the client went away): free the trial slot."""
        self._trial_running = False
