"""Redis fixed-window rate limiter shared by every gateway replica.

The increment and the expiry are one Lua script, so concurrent replicas cannot lose a count or
leave a key without expiry.
"""

from __future__ import annotations

from redis.asyncio import Redis
from redis.exceptions import RedisError

from ragline_common.errors import UpstreamUnavailable
from ragline_gateway.ports.rate_limiter import RateLimitDecision

_HIT_SCRIPT = """
local current = redis.call('INCR', KEYS[1])
if current == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {current, ttl}
"""


class RedisRateLimiter:
    def __init__(
        self, url: str, *, key_prefix: str = "ragline:rl:", timeout_s: float = 1.0
    ) -> None:
        self._redis: Redis = Redis.from_url(
            url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s
        )
        self._prefix = key_prefix
        self._script = self._redis.register_script(_HIT_SCRIPT)

    async def hit(self, key: str, *, limit: int, window_s: int) -> RateLimitDecision:
        try:
            count, ttl_ms = await self._script(keys=[self._prefix + key], args=[window_s * 1000])
        except (RedisError, OSError) as exc:
            raise UpstreamUnavailable("Rate limiter store is unavailable") from exc
        count = int(count)
        return RateLimitDecision(
            allowed=count <= limit,
            limit=limit,
            remaining=max(0, limit - count),
            reset_s=max(0.0, int(ttl_ms) / 1000),
            window_s=window_s,
        )

    async def ping(self) -> None:
        try:
            await self._redis.ping()
        except (RedisError, OSError) as exc:
            raise UpstreamUnavailable("Redis is unavailable") from exc

    async def close(self) -> None:
        await self._redis.aclose()
