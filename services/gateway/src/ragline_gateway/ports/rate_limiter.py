"""Rate limiter port."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class RateLimitDecision:
    """Outcome of one hit, with what the IETF ``RateLimit`` headers need."""

    allowed: bool
    limit: int
    remaining: int
    reset_s: float
    window_s: int

    @property
    def retry_after_s(self) -> float:
        return 0.0 if self.allowed else max(self.reset_s, 1.0)


class RateLimiter(Protocol):
    async def hit(self, key: str, *, limit: int, window_s: int) -> RateLimitDecision:
        """Count one request against ``key`` in a window of ``window_s`` seconds."""

    async def ping(self) -> None: ...

    async def close(self) -> None: ...
