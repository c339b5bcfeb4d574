"""Token buckets: local (asyncio) and shared (Redis)."""

from __future__ import annotations

import asyncio
import time

import pytest
import redis.asyncio as aioredis
from geocoder_fakes import REDIS_URL

from cocoa_geocoder.providers import LocalTokenBucket, RateLimiter, RedisTokenBucket, make_limiter

RATE = 20.0
BURST = 5
RUN_SECONDS = 2.0


async def count_acquisitions(limiters: list[RateLimiter], seconds: float, workers_each: int = 4) -> int:
    """Hammer every limiter from several tasks; count acquisitions completed within ``seconds``."""
    deadline = time.monotonic() + seconds
    count = 0

    async def worker(limiter: RateLimiter) -> None:
        nonlocal count
        while True:
            await limiter.acquire()
            if time.monotonic() >= deadline:
                return
            count += 1

    tasks = [asyncio.create_task(worker(lim)) for lim in limiters for _ in range(workers_each)]
    await asyncio.sleep(seconds)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return count


async def test_local_bucket_allows_burst_immediately() -> None:
    bucket = LocalTokenBucket(rate_per_s=1.0, burst=3)
    started = time.monotonic()
    for _ in range(3):
        await bucket.acquire()
    assert time.monotonic() - started < 0.05


async def test_local_bucket_stays_within_rate_over_bounded_run() -> None:
    count = await count_acquisitions([LocalTokenBucket(RATE, BURST)], RUN_SECONDS)
    assert RATE * RUN_SECONDS * 0.8 <= count <= RATE * RUN_SECONDS + BURST


async def test_local_bucket_serves_waiters_in_arrival_order() -> None:
    bucket = LocalTokenBucket(rate_per_s=50.0, burst=1)
    order: list[int] = []

    async def take(index: int) -> None:
        await bucket.acquire()
        order.append(index)

    await asyncio.gather(*(take(i) for i in range(6)))
    assert order == list(range(6))


async def test_local_bucket_cancelled_waiter_returns_its_slot() -> None:
    bucket = LocalTokenBucket(rate_per_s=10.0, burst=1)
    await bucket.acquire()
    waiter = asyncio.create_task(bucket.acquire())
    await asyncio.sleep(0)
    waiter.cancel()
    await asyncio.gather(waiter, return_exceptions=True)
    started = time.monotonic()
    await bucket.acquire()
    assert time.monotonic() - started < 0.15  # one slot (0.1 s), not two


async def test_two_redis_buckets_together_stay_within_rate(redis_prefix: tuple[aioredis.Redis, str]) -> None:
    _, prefix = redis_prefix
    # Two "replicas": separate clients, separate bucket objects, one key.
    first, second = aioredis.Redis.from_url(REDIS_URL), aioredis.Redis.from_url(REDIS_URL)
    try:
        limiters: list[RateLimiter] = [
            RedisTokenBucket(first, f"{prefix}census", RATE, BURST),
            RedisTokenBucket(second, f"{prefix}census", RATE, BURST),
        ]
        count = await count_acquisitions(limiters, RUN_SECONDS)
    finally:
        await first.aclose()
        await second.aclose()
    assert RATE * RUN_SECONDS * 0.8 <= count <= RATE * RUN_SECONDS + BURST


async def test_redis_bucket_key_expires_when_idle(redis_prefix: tuple[aioredis.Redis, str]) -> None:
    client, prefix = redis_prefix
    await RedisTokenBucket(client, f"{prefix}ttl", RATE, BURST).acquire()
    ttl_ms = await client.pttl(f"{prefix}ttl")
    assert 0 < ttl_ms <= 2_000


async def test_make_limiter_returns_none_for_unlimited() -> None:
    assert make_limiter(0, 5) is None
    assert make_limiter(-1, 5) is None


async def test_make_limiter_builds_local_or_redis_bucket(redis_prefix: tuple[aioredis.Redis, str]) -> None:
    client, prefix = redis_prefix
    assert isinstance(make_limiter(1.0, 0), LocalTokenBucket)
    shared = make_limiter(1.0, 2, redis=client, key=f"{prefix}x")
    assert isinstance(shared, RedisTokenBucket)
    assert shared.key == f"{prefix}x"


@pytest.mark.parametrize(("rate", "burst"), [(0.0, 1), (float("inf"), 1), (1.0, 0)])
def test_bucket_rejects_invalid_parameters(rate: float, burst: int) -> None:
    with pytest.raises(ValueError, match="must be"):
        LocalTokenBucket(rate, burst)
