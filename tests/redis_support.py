"""Redis for the suites that need it (rate-limiter contract and e2e tests).

`EVENTAPI_TEST_REDIS_URL` names the Redis to use (CI: redis://127.0.0.1:6379/15,
a database of its own). Each test writes under a unique key prefix and deletes
only that prefix afterwards: nothing else in that Redis is touched, and no
database is ever flushed. If Redis cannot be reached the tests fail: they are
never skipped.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from redis.asyncio import Redis

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"


def redis_url() -> str:
    return os.environ.get("EVENTAPI_TEST_REDIS_URL", DEFAULT_REDIS_URL)


def unique_prefix() -> str:
    return f"eventapi-test:{secrets.token_hex(6)}"


async def require(client: Redis) -> None:
    """Fail (never skip) the test when the test Redis does not answer."""
    try:
        await client.ping()
    except Exception as exc:
        pytest.fail(
            f"Redis at EVENTAPI_TEST_REDIS_URL (default {DEFAULT_REDIS_URL}) is unreachable: "
            f"{type(exc).__name__}. Start it, e.g. `redis-server --bind 127.0.0.1 --port 6379`."
        )


async def delete_prefix(client: Redis, prefix: str) -> None:
    """Delete every key under `prefix` (and nothing else)."""
    keys = [key async for key in client.scan_iter(match=f"{prefix}:*", count=500)]
    if keys:
        await client.delete(*keys)


@asynccontextmanager
async def redis_under_prefix() -> AsyncIterator[tuple[Redis, str]]:
    """A client on the test Redis and a fresh key prefix, deleted on the way out."""
    client = Redis.from_url(redis_url())
    prefix = unique_prefix()
    try:
        await require(client)
        try:
            yield client, prefix
        finally:
            await delete_prefix(client, prefix)
    finally:
        await client.aclose()
