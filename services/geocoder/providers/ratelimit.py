"""Token-bucket rate limiters: one per process (asyncio) or one shared by every replica (Redis).

Both buckets let callers go into debt: each ``acquire`` reserves the next free slot and sleeps until
it. That gives FIFO fairness without a polling loop, and the number of acquisitions that complete in
any window of T seconds never exceeds ``burst + rate * T``.
"""

from __future__ import annotations

import asyncio
import math
from typing import Protocol

import redis.asyncio as aioredis


class RateLimiter(Protocol):
    """Something providers await before every outbound request."""

    async def acquire(self) -> None: ...


def _validate(rate_per_s: float, burst: int) -> None:
    if not rate_per_s > 0 or math.isinf(rate_per_s):
        raise ValueError(f"rate_per_s must be a positive finite number, got {rate_per_s!r}")
    if burst < 1:
        raise ValueError(f"burst must be >= 1, got {burst!r}")


class LocalTokenBucket:
    """In-process token bucket. Waiters are served in arrival order; each sleeps exactly once."""

    def __init__(self, rate_per_s: float, burst: int) -> None:
        _validate(rate_per_s, burst)
        self.rate_per_s = rate_per_s
        self.burst = burst
        self._tokens = float(burst)
        self._updated: float | None = None

    def _reserve(self) -> float:
        """Take one token (possibly into debt) and return how long to wait for it."""
        now = asyncio.get_running_loop().time()
        if self._updated is not None:
            self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate_per_s)
        self._updated = now
        self._tokens -= 1.0
        return max(0.0, -self._tokens / self.rate_per_s)

    async def acquire(self) -> None:
        # _reserve runs without an await, so it is atomic with respect to other tasks.
        wait = self._reserve()
        if wait <= 0:
            return
        try:
            await asyncio.sleep(wait)
        except asyncio.CancelledError:
            self._tokens += 1.0  # give the unused slot back
            raise


# KEYS[1] = bucket hash; ARGV = rate_per_s, burst. Returns the wait in microseconds.
# Server TIME keeps every replica on one clock; debt (negative tokens) orders waiters.
_REDIS_BUCKET_LUA = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  tokens = burst
  ts = now
end
if now > ts then
  tokens = math.min(burst, tokens + (now - ts) * rate)
  ts = now
end
tokens = tokens - 1
redis.call('HSET', KEYS[1], 'tokens', tokens, 'ts', ts)
local wait = 0
if tokens < 0 then
  wait = -tokens / rate
end
-- Once idle long enough to refill, the key carries no information; let it expire.
redis.call('PEXPIRE', KEYS[1], math.ceil((wait + burst / rate) * 1000) + 1000)
return math.ceil(wait * 1000000)
"""


class RedisTokenBucket:
    """Token bucket shared through Redis, so all processes using ``key`` together respect the rate.

    A waiter that is cancelled keeps its reserved slot (the limiter errs on the slow side)."""

    def __init__(self, redis: aioredis.Redis, key: str, rate_per_s: float, burst: int) -> None:
        _validate(rate_per_s, burst)
        if not key:
            raise ValueError("key must be non-empty")
        self.key = key
        self.rate_per_s = rate_per_s
        self.burst = burst
        self._script = redis.register_script(_REDIS_BUCKET_LUA)

    async def acquire(self) -> None:
        wait_us = await self._script(keys=[self.key], args=[repr(self.rate_per_s), self.burst])
        if int(wait_us) > 0:
            await asyncio.sleep(int(wait_us) / 1_000_000)


def make_limiter(
    rate_per_s: float,
    burst: int = 1,
    redis: aioredis.Redis | None = None,
    key: str = "cocoa:geocoder:ratelimit",
) -> RateLimiter | None:
    """Build the limiter for one provider: ``None`` (unlimited) when ``rate_per_s <= 0``, a shared
    Redis bucket when a client is given, else a per-process bucket."""
    if rate_per_s <= 0:
        return None
    burst = max(1, burst)
    if redis is not None:
        return RedisTokenBucket(redis, key, rate_per_s, burst)
    return LocalTokenBucket(rate_per_s, burst)
