"""A sliding-window rate limiter shared by every server process, on Redis.

Each hit runs one Lua script on the Redis server, so "count, then add if
allowed" is atomic however many processes (or hosts) share the limit. The
algorithm and the numbers it answers are those of `MemoryRateLimiter`:

- one sorted set per (rate, key): a member per allowed hit, scored by the
  time of the hit in microseconds;
- hits at or before `now - period` are dropped, the rest counted; a hit is
  added only if fewer than `limit` remain (a refused hit is not counted);
- `remaining = limit - count`; `reset_seconds` is the time until the oldest
  counted hit leaves the window, rounded up; `retry_after` is that time (at
  least 1 s) for a refused hit and 0 for an allowed one.

"Now" is the Redis server's clock (`TIME`), never an app server's, so skewed
clocks across hosts cannot widen or narrow a window.

When Redis cannot be reached, or does not answer within the timeout, the hit
is answered by a per-process fallback limiter (a `MemoryRateLimiter`): the
API keeps serving with per-process limits and a (rate-limited) warning in
the log, and this adapter never raises to its caller. While Redis is known
to be down, it is tried again at most once per `retry_interval` seconds, so
an outage does not add a connect timeout to every request.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import secrets
import time
from collections.abc import Callable
from typing import Any

from redis.asyncio import Redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from application.ports.rate_limiter import Rate, RateDecision, RateLimiter

log = logging.getLogger("eventapi.rate_limits")

DEFAULT_PREFIX = "eventapi:rl"
#: Redis answers a hit in well under a millisecond; past this it counts as down.
DEFAULT_TIMEOUT_SECONDS = 0.5

# KEYS[1]: the sorted set of one (rate, key)
# ARGV: limit, period in seconds, a unique member for this hit, a clock offset in
#       microseconds (always 0 outside tests; lets a test move time forward)
# Returns {allowed (0/1), counted hits, reset_seconds, retry_after}.
#
# Times are whole microseconds, which a double (Lua's number, and a sorted-set
# score) holds exactly until the year 2255. They go to Redis through
# string.format('%.0f'): Lua's own number-to-string keeps only 14 digits.
SLIDING_WINDOW_LUA = """
if redis.replicate_commands then redis.replicate_commands() end
local limit = tonumber(ARGV[1])
local period = tonumber(ARGV[2]) * 1000000
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2]) + tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%.0f', now - period))
local count = redis.call('ZCARD', KEYS[1])
local allowed = 0
if count < limit then
    redis.call('ZADD', KEYS[1], string.format('%.0f', now), ARGV[3])
    redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 1000)
    count = count + 1
    allowed = 1
end
local reset = 0
local retry = 0
if count > 0 then
    local oldest = tonumber(redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2])
    reset = math.floor((oldest + period - now + 999999) / 1000000)
    if allowed == 0 then retry = math.max(1, reset) end
end
return {allowed, count, reset, retry}
"""


class RedisRateLimiter(RateLimiter):
    """`RateLimiter` on Redis, answering from `fallback` while Redis is unreachable."""

    def __init__(
        self,
        redis: Redis | str,
        fallback: RateLimiter,
        *,
        prefix: str = DEFAULT_PREFIX,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        retry_interval: float = 1.0,
        log_interval: float = 60.0,
        time_offset: Callable[[], float] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """`redis` is a client or a `redis://` URL (then this limiter owns the client:
        short socket timeouts, one immediate retry for a stale pooled connection).
        `time_offset` (seconds added to the Redis clock) is for tests only."""
        self._owns_client = isinstance(redis, str)
        self._redis: Redis = (
            Redis.from_url(
                redis,
                socket_timeout=timeout,
                socket_connect_timeout=timeout,
                retry=Retry(NoBackoff(), 1),
                retry_on_timeout=False,
            )
            if isinstance(redis, str)
            else redis
        )
        self._script = self._redis.register_script(SLIDING_WINDOW_LUA)
        self._fallback = fallback
        self._prefix = prefix
        self._timeout = timeout
        self._retry_interval = retry_interval
        self._log_interval = log_interval
        self._time_offset = time_offset
        self._monotonic = monotonic
        self._down_until = 0.0
        # A hit's member only has to differ from every other hit's: random per
        # limiter (per process), then a counter; no urandom call per request.
        self._member_prefix = secrets.token_hex(8) + ":"
        self._hits = itertools.count()
        self._failures = 0
        self._unlogged_failures = 0
        self._last_warning: float | None = None

    def key_for(self, key: str, rate: Rate) -> str:
        """The Redis key holding the hits of `key` under `rate`."""
        return f"{self._prefix}:{rate.name}:{key}"

    async def hit(self, key: str, rate: Rate) -> RateDecision:
        if self._monotonic() >= self._down_until:
            try:
                async with asyncio.timeout(self._timeout):
                    reply = await self._script(
                        keys=[self.key_for(key, rate)],
                        args=[
                            rate.limit,
                            rate.period_seconds,
                            f"{self._member_prefix}{next(self._hits)}",
                            self._offset(),
                        ],
                    )
                allowed, count, reset, retry = (int(value) for value in reply)
            except Exception as exc:  # whatever went wrong, the request must still be answered
                self._went_wrong(exc)
            else:
                self._answered()
                return RateDecision(
                    allowed=bool(allowed),
                    limit=rate.limit,
                    remaining=rate.limit - count,
                    reset_seconds=reset,
                    retry_after=retry,
                )
        return await self._fallback.hit(key, rate)

    async def ping(self) -> bool:
        """True when Redis answers now (for the readiness probe: "ok" or "degraded")."""
        try:
            async with asyncio.timeout(self._timeout):
                await self._redis.ping()
        except Exception as exc:  # reported as degraded, never raised
            self._went_wrong(exc)
            return False
        self._answered()
        return True

    @property
    def degraded(self) -> bool:
        """Whether the last attempt to reach Redis failed (hits use the fallback)."""
        return self._failures > 0

    async def aclose(self) -> None:
        """Close the connections (only those of a client this limiter created)."""
        if self._owns_client:
            await self._redis.aclose()

    def _offset(self) -> int:
        return round(self._time_offset() * 1_000_000) if self._time_offset else 0

    def _went_wrong(self, exc: BaseException) -> None:
        now = self._monotonic()
        self._down_until = now + self._retry_interval
        self._failures += 1
        self._unlogged_failures += 1
        if self._last_warning is None or now - self._last_warning >= self._log_interval:
            # The exception's type and where Redis is said to be: never the URL or
            # the exception text, which could carry a password.
            log.warning(
                "Redis rate limiter unavailable (%s at %s, %d failure(s) since last report); "
                "answering from per-process limits",
                type(exc).__name__,
                self._where(),
                self._unlogged_failures,
            )
            self._last_warning = now
            self._unlogged_failures = 0

    def _answered(self) -> None:
        if self._failures:
            log.info(
                "Redis rate limiter reachable again at %s after %d failure(s)",
                self._where(),
                self._failures,
            )
        self._failures = 0
        self._unlogged_failures = 0
        self._down_until = 0.0

    def _where(self) -> str:
        kwargs: dict[str, Any] = self._redis.connection_pool.connection_kwargs
        if "path" in kwargs:
            return f"unix:{kwargs['path']} db {kwargs.get('db', 0)}"
        return f"{kwargs.get('host', '?')}:{kwargs.get('port', '?')} db {kwargs.get('db', 0)}"
