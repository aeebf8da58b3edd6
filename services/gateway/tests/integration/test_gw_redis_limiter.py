"""The Redis rate limiter on the real Redis: replicas share one count."""

from __future__ import annotations

import asyncio
import secrets

import pytest

from ragline_common.errors import UpstreamUnavailable
from ragline_gateway.adapters.rate_limit_redis import RedisRateLimiter
from ragline_testing.harness import require_service

pytestmark = pytest.mark.integration
REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture(autouse=True)
def _redis() -> None:
    require_service("127.0.0.1", 6379, "Redis")


async def test_two_limiters_enforce_one_limit_together() -> None:
    prefix = f"ragline-test-{secrets.token_hex(4)}:"
    replicas = [RedisRateLimiter(REDIS_URL, key_prefix=prefix) for _ in range(2)]
    try:
        decisions = await asyncio.gather(
            *(replicas[i % 2].hit("query:tenant:t1", limit=10, window_s=60) for i in range(25))
        )
        assert sum(d.allowed for d in decisions) == 10
        assert min(d.remaining for d in decisions) == 0
        blocked = [d for d in decisions if not d.allowed]
        assert all(1 <= d.retry_after_s <= 60 for d in blocked)
        other = await replicas[0].hit("query:tenant:t2", limit=10, window_s=60)
        assert other.allowed and other.remaining == 9
    finally:
        for replica in replicas:
            await replica.close()


async def test_window_expires() -> None:
    limiter = RedisRateLimiter(REDIS_URL, key_prefix=f"ragline-test-{secrets.token_hex(4)}:")
    try:
        assert (await limiter.hit("k", limit=1, window_s=1)).allowed
        assert not (await limiter.hit("k", limit=1, window_s=1)).allowed
        await asyncio.sleep(1.1)
        assert (await limiter.hit("k", limit=1, window_s=1)).allowed
    finally:
        await limiter.close()


async def test_unreachable_redis_is_upstream_unavailable() -> None:
    limiter = RedisRateLimiter("redis://127.0.0.1:1/0", timeout_s=0.5)
    try:
        with pytest.raises(UpstreamUnavailable):
            await limiter.hit("k", limit=1, window_s=1)
        with pytest.raises(UpstreamUnavailable):
            await limiter.ping()
    finally:
        await limiter.close()
