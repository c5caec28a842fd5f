"""One OS process hammering one key through the Redis rate limiter.

    python -m tests.contract.rate_limit_worker URL PREFIX LIMIT HITS CONCURRENCY

Announces itself on `PREFIX:ready`, waits for `PREFIX:go` (so every worker
starts together, synchronised through Redis rather than by sleeping), sends
HITS hits, CONCURRENCY at a time, against one shared key, and prints
`{"allowed": n, "refused": m}` as JSON. The fallback limiter raises: a hit
that did not reach Redis crashes the worker instead of counting locally.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys

from redis.asyncio import Redis

from adapters.redis_rate_limiter import RedisRateLimiter
from application.ports.rate_limiter import Rate, RateDecision

RATE_NAME = "hammer"
KEY = "shared"
GO_TIMEOUT_SECONDS = 60


class NoFallback:
    async def hit(self, key: str, rate: Rate) -> RateDecision:
        raise RuntimeError("Redis did not answer; this worker must not count locally")


async def hammer(url: str, prefix: str, limit: int, hits: int, concurrency: int) -> dict[str, int]:
    client = Redis.from_url(url, max_connections=concurrency + 2)
    limiter = RedisRateLimiter(client, NoFallback(), prefix=prefix, timeout=10.0)
    rate = Rate(RATE_NAME, limit, 600)
    try:
        await client.rpush(f"{prefix}:ready", os.getpid())
        if await client.blpop([f"{prefix}:go"], timeout=GO_TIMEOUT_SECONDS) is None:
            raise RuntimeError("no go signal")
        gate = asyncio.Semaphore(concurrency)

        async def one() -> bool:
            async with gate:
                return (await limiter.hit(KEY, rate)).allowed

        results = await asyncio.gather(*(one() for _ in range(hits)))
    finally:
        await client.aclose()
    allowed = sum(results)
    return {"allowed": allowed, "refused": hits - allowed}


def main(argv: list[str]) -> None:
    url, prefix, limit, hits, concurrency = argv
    counts = asyncio.run(hammer(url, prefix, int(limit), int(hits), int(concurrency)))
    print(json.dumps(counts))


if __name__ == "__main__":
    main(sys.argv[1:])
