"""In-process fixed-window rate limiter for single-node (monolithic) mode only.

Replicas would each count separately, which is why multi-process deployments use Redis.
"""

from __future__ import annotations

import time

from ragline_gateway.ports.rate_limiter import RateLimitDecision

_MAX_KEYS = 100_000


class MemoryRateLimiter:
    def __init__(self) -> None:
        self._windows: dict[str, tuple[float, int]] = {}

    async def hit(self, key: str, *, limit: int, window_s: int) -> RateLimitDecision:
        now = time.monotonic()
        started, count = self._windows.get(key, (now, 0))
        if now - started >= window_s:
            started, count = now, 0
        count += 1
        if len(self._windows) >= _MAX_KEYS and key not in self._windows:
            self._evict_expired(now, window_s)
        self._windows[key] = (started, count)
        reset_s = max(0.0, window_s - (now - started))
        return RateLimitDecision(
            allowed=count <= limit,
            limit=limit,
            remaining=max(0, limit - count),
            reset_s=reset_s,
            window_s=window_s,
        )

    def _evict_expired(self, now: float, window_s: int) -> None:
        self._windows = {
            key: value for key, value in self._windows.items() if now - value[0] < window_s
        }

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        self._windows.clear()
