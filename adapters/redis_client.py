"""The one Redis client (and connection pool) a process shares: rate limits and
the read cache both use it."""

from __future__ import annotations

from redis.asyncio import Redis
from redis.backoff import NoBackoff
from redis.retry import Retry

#: Redis answers in well under a millisecond; past this it counts as down.
DEFAULT_TIMEOUT_SECONDS = 0.5


def redis_client(url: str, *, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> Redis:
    """A client for `url`: short socket timeouts, one immediate retry for a stale
    pooled connection, no retry on a timeout (a slow Redis must not slow requests)."""
    return Redis.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 1),
        retry_on_timeout=False,
    )
