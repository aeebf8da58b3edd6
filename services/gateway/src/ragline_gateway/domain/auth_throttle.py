"""Throttling of failed authentication, per client address.

A request without a key, or with one that is unknown, revoked or expired, counts against its
client address in the ``unauthenticated`` bucket of the rate limiter. Past the limit the answer
is 429 instead of 401, and the address is refused outright, before any key is looked at, until
the window ends. Refusing outright is the point: if over-budget requests were still
authenticated, a right guess would still succeed and guessing would go on at full speed.
Requests that authenticate are never counted here; they have their own buckets.
"""

from __future__ import annotations

from typing import Literal, Protocol

from ragline_common.errors import RateLimited
from ragline_gateway.domain.limits import WINDOW_S, count_request, policy_headers
from ragline_gateway.ports.rate_limiter import RateLimitDecision, RateLimiter


class RefusedAddresses(Protocol):
    """Where a replica remembers the addresses it refuses (the key directory)."""

    def refuse_address(self, address: str, for_s: float) -> None: ...

    def address_refused_for(self, address: str) -> float | None: ...


def refuse_if_throttled(refused: RefusedAddresses, address: str, *, limit: int) -> None:
    """429 for an address that used up its failed attempts, before it may authenticate."""
    left = refused.address_refused_for(address)
    if left is None:
        return
    decision = RateLimitDecision(
        allowed=False, limit=limit, remaining=0, reset_s=left, window_s=WINDOW_S
    )
    raise RateLimited(
        "Too many failed authentications from this address; retry later.",
        retry_after_s=decision.retry_after_s,
        headers=policy_headers("unauthenticated", limit, decision),
    )


async def count_failed_authentication(
    limiter: RateLimiter,
    refused: RefusedAddresses,
    address: str,
    *,
    limit: int,
    failure_mode: Literal["open", "closed"],
) -> dict[str, str]:
    """Count one failure of ``address``; the headers to send, or ``RateLimited`` (and the
    address is refused for the rest of the window)."""
    try:
        return await count_request(
            limiter,
            bucket="unauthenticated",
            counters=(f"address:{address}",),
            limit=limit,
            failure_mode=failure_mode,
        )
    except RateLimited as exc:
        refused.refuse_address(address, exc.retry_after_s)
        raise
