"""One contract for every `RateLimiter`: the in-process one and the Redis one.

Both are exact sliding-window logs and must give the same answers, number for
number. Time is moved deterministically, never waited for:

- memory: the limiter reads an injected fake clock, which the test advances;
- Redis: the Lua script reads the Redis server's own clock (`TIME`) and adds
  an offset the limiter passes in (`time_offset`, always 0 in production);
  the test advances the offset. The server clock still runs between two hits,
  by a few milliseconds, so the tests never sit within a second of a window
  edge, and every expected number holds for any drift below one second.

One Redis test does let real time pass (a 1 s window), to show expiry works
on the server's clock alone; it polls with a deadline instead of sleeping.

The Redis tests use `EVENTAPI_TEST_REDIS_URL` (default redis://127.0.0.1:6379/15),
write under a fresh key prefix per test and delete only that prefix. They fail,
never skip, when Redis is unreachable: the limiter under test is given a
fallback that raises, so a hit that silently fell back would fail the test too.

Also here, for the Redis limiter only: two OS processes hammering one key
allow exactly `limit` hits between them; an unreachable Redis (a closed port)
and a Redis that goes away mid-run are answered from the fallback, never raised.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from redis.asyncio import Redis

from adapters.memory.rate_limiter import MemoryRateLimiter
from adapters.redis_rate_limiter import RedisRateLimiter
from application.ports.rate_limiter import Rate, RateDecision, RateLimiter
from tests.redis_support import redis_under_prefix, redis_url

ROOT = Path(__file__).resolve().parents[2]
MINUTE = Rate("per-minute", 5, 60)


class NoFallback:
    """A fallback that fails the test: the Redis limiter must have answered itself."""

    async def hit(self, key: str, rate: Rate) -> RateDecision:
        raise AssertionError("the Redis limiter fell back: Redis did not answer")


@dataclass
class Subject:
    name: str
    limiter: RateLimiter
    #: Move the limiter's clock forward by this many seconds.
    advance: Callable[[float], None]


class Offset:
    def __init__(self, start: float = 0.0) -> None:
        self.seconds = start

    def __call__(self) -> float:
        return self.seconds

    def advance(self, seconds: float) -> None:
        self.seconds += seconds


@pytest.fixture(params=["memory", "redis"])
async def subject(request: pytest.FixtureRequest) -> AsyncIterator[Subject]:
    if request.param == "memory":
        # A start time at which `t + 3600 - t` is not 3600 in floating point (it
        # rounds up to 3600.0000000000005): the limiter must not answer 3601.
        clock = Offset(14072.481653775836)
        yield Subject("memory", MemoryRateLimiter(clock), clock.advance)
        return
    async with redis_under_prefix() as (client, prefix):
        offset = Offset()
        limiter = RedisRateLimiter(
            client, NoFallback(), prefix=prefix, timeout=5.0, time_offset=offset
        )
        yield Subject("redis", limiter, offset.advance)


def allowed(limit: int, remaining: int, reset: int) -> RateDecision:
    return RateDecision(
        allowed=True, limit=limit, remaining=remaining, reset_seconds=reset, retry_after=0
    )


def refused(limit: int, wait: int) -> RateDecision:
    return RateDecision(
        allowed=False, limit=limit, remaining=0, reset_seconds=wait, retry_after=wait
    )


# -- the contract, for both ----------------------------------------------------------------


async def test_exactly_the_limit_is_allowed_then_hits_are_refused(subject: Subject) -> None:
    decisions = [await subject.limiter.hit("k", MINUTE) for _ in range(7)]

    assert decisions == [
        allowed(5, 4, 60),
        allowed(5, 3, 60),
        allowed(5, 2, 60),
        allowed(5, 1, 60),
        allowed(5, 0, 60),
        refused(5, 60),
        refused(5, 60),
    ]


async def test_refused_hits_are_not_counted(subject: Subject) -> None:
    rate = Rate("two", 2, 60)
    for _ in range(2):
        assert (await subject.limiter.hit("k", rate)).allowed
    for _ in range(10):
        assert not (await subject.limiter.hit("k", rate)).allowed

    subject.advance(60)

    assert await subject.limiter.hit("k", rate) == allowed(2, 1, 60)


async def test_the_window_slides_hit_by_hit(subject: Subject) -> None:
    for _ in range(3):
        await subject.limiter.hit("k", MINUTE)
    subject.advance(20)
    for _ in range(2):
        await subject.limiter.hit("k", MINUTE)

    assert await subject.limiter.hit("k", MINUTE) == refused(5, 40)

    subject.advance(40)  # the first three leave the window; the two from t=20 stay

    assert [await subject.limiter.hit("k", MINUTE) for _ in range(4)] == [
        allowed(5, 2, 20),
        allowed(5, 1, 20),
        allowed(5, 0, 20),
        refused(5, 20),
    ]


async def test_reset_and_retry_after_follow_the_oldest_counted_hit(subject: Subject) -> None:
    rate = Rate("three", 3, 60)
    assert await subject.limiter.hit("k", rate) == allowed(3, 2, 60)
    subject.advance(10)
    assert await subject.limiter.hit("k", rate) == allowed(3, 1, 50)
    subject.advance(10)
    assert await subject.limiter.hit("k", rate) == allowed(3, 0, 40)
    assert await subject.limiter.hit("k", rate) == refused(3, 40)

    subject.advance(40)  # the hit from t=0 leaves; the oldest is now the one from t=10

    assert await subject.limiter.hit("k", rate) == allowed(3, 0, 10)
    assert await subject.limiter.hit("k", rate) == refused(3, 10)


async def test_long_windows_count_down_to_the_second(subject: Subject) -> None:
    hourly = Rate("hourly", 1, 3600)
    assert await subject.limiter.hit("k", hourly) == allowed(1, 0, 3600)
    assert await subject.limiter.hit("k", hourly) == refused(1, 3600)

    subject.advance(3599)
    assert await subject.limiter.hit("k", hourly) == refused(1, 1)

    subject.advance(1)
    assert await subject.limiter.hit("k", hourly) == allowed(1, 0, 3600)


async def test_keys_are_counted_apart(subject: Subject) -> None:
    rate = Rate("two", 2, 60)
    for _ in range(3):
        await subject.limiter.hit("alice", rate)

    assert await subject.limiter.hit("bob", rate) == allowed(2, 1, 60)
    assert not (await subject.limiter.hit("alice", rate)).allowed


async def test_rates_are_counted_apart_for_the_same_key(subject: Subject) -> None:
    first, second = Rate("first", 2, 60), Rate("second", 2, 60)
    for _ in range(3):
        await subject.limiter.hit("k", first)

    assert await subject.limiter.hit("k", second) == allowed(2, 1, 60)
    assert not (await subject.limiter.hit("k", first)).allowed


async def test_concurrent_hits_allow_exactly_the_limit(subject: Subject) -> None:
    rate = Rate("burst", 10, 60)

    decisions = await asyncio.gather(*(subject.limiter.hit("k", rate) for _ in range(50)))

    winners = [decision for decision in decisions if decision.allowed]
    assert len(winners) == 10
    assert sorted(decision.remaining for decision in winners) == list(range(10))
    assert all(decision.retry_after == 60 for decision in decisions if not decision.allowed)


# -- Redis only ------------------------------------------------------------------------------


@pytest.fixture
async def shared() -> AsyncIterator[tuple[Redis, str]]:
    async with redis_under_prefix() as (client, prefix):
        yield client, prefix


async def test_redis_keys_are_namespaced_and_expire_with_the_window(
    shared: tuple[Redis, str],
) -> None:
    client, prefix = shared
    limiter = RedisRateLimiter(client, NoFallback(), prefix=prefix, timeout=5.0)

    await limiter.hit("address:192.0.2.7", MINUTE)

    key = f"{prefix}:per-minute:address:192.0.2.7"
    assert limiter.key_for("address:192.0.2.7", MINUTE) == key
    assert [k async for k in client.scan_iter(match=f"{prefix}:*")] == [key.encode()]
    assert await client.type(key) == b"zset"
    assert 0 < await client.pttl(key) <= 60_000


async def test_every_allowed_hit_is_its_own_member(shared: tuple[Redis, str]) -> None:
    client, prefix = shared
    limiter = RedisRateLimiter(client, NoFallback(), prefix=prefix, timeout=5.0)
    rate = Rate("many", 40, 60)

    await asyncio.gather(*(limiter.hit("k", rate) for _ in range(40)))

    assert await client.zcard(limiter.key_for("k", rate)) == 40


async def test_redis_windows_expire_on_the_server_clock(shared: tuple[Redis, str]) -> None:
    client, prefix = shared
    limiter = RedisRateLimiter(client, NoFallback(), prefix=prefix, timeout=5.0)
    rate = Rate("one-second", 2, 1)
    assert (await limiter.hit("k", rate)).allowed
    assert (await limiter.hit("k", rate)).allowed
    assert await limiter.hit("k", rate) == refused(2, 1)

    # Refused hits are not counted, so polling is harmless; a deadline, not a sleep, decides.
    deadline = time.monotonic() + 5
    decision = await limiter.hit("k", rate)
    while not decision.allowed and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
        decision = await limiter.hit("k", rate)

    assert decision.allowed, "a 1 s window had not moved on after 5 s"


async def test_two_processes_share_one_limit_exactly(shared: tuple[Redis, str]) -> None:
    client, prefix = shared
    limit, hits, concurrency = 1000, 3000, 32
    workers = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.contract.rate_limit_worker",
            redis_url(),
            prefix,
            str(limit),
            str(hits),
            str(concurrency),
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(2)
    ]
    try:
        for _ in workers:  # both are connected and waiting ...
            assert await client.blpop([f"{prefix}:ready"], timeout=60) is not None
        await client.rpush(f"{prefix}:go", *["go"] * len(workers))  # ... then start together
        outputs = [await worker.communicate() for worker in workers]
    finally:
        for worker in workers:
            if worker.returncode is None:
                worker.kill()
                await worker.wait()

    counts = []
    for worker, (out, err) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, err.decode()
        counts.append(json.loads(out))
    print(f"\nrate-limit exactness across 2 processes (limit {limit}): {counts}")
    assert sum(count["allowed"] for count in counts) == limit
    assert sum(count["refused"] for count in counts) == 2 * hits - limit
    assert await client.zcard(f"{prefix}:hammer:shared") == limit


async def test_unreachable_redis_falls_back_and_never_raises(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Nothing listens on port 1. The URL's password must never reach the log.
    limiter = RedisRateLimiter(
        "redis://:hunter2-not-logged@127.0.0.1:1/0", MemoryRateLimiter(), timeout=0.5
    )
    caplog.set_level(logging.WARNING, logger="eventapi.rate_limits")
    try:
        decisions = [await limiter.hit("k", MINUTE) for _ in range(7)]
        ready = await limiter.ping()
    finally:
        await limiter.aclose()

    assert [d.allowed for d in decisions] == [True] * 5 + [False] * 2
    assert decisions[-1] == refused(5, 60)
    assert ready is False
    assert limiter.degraded
    warnings = [r for r in caplog.records if r.name == "eventapi.rate_limits"]
    assert len(warnings) == 1, "the warning is rate limited, not one per request"
    assert "127.0.0.1:1" in warnings[0].getMessage()
    assert "hunter2" not in caplog.text


class Proxy:
    """A TCP relay to the test Redis that can be cut and brought back, like a Redis
    restart or a network partition, without touching the shared Redis itself."""

    def __init__(self, host: str, port: int) -> None:
        self._target = (host, port)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        await self._server.wait_closed()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(*self._target)
        self._writers |= {writer, upstream_writer}

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                sink.transport.abort()

        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))
        self._writers -= {writer, upstream_writer}


async def test_redis_going_away_mid_run_falls_back_then_recovers(
    shared: tuple[Redis, str], caplog: pytest.LogCaptureFixture
) -> None:
    client, prefix = shared
    target = urlsplit(redis_url())
    proxy = Proxy(target.hostname or "127.0.0.1", target.port or 6379)
    await proxy.start()
    netloc = target.netloc.rpartition("@")[0] + "@" if "@" in target.netloc else ""
    through_proxy = urlunsplit(target._replace(netloc=f"{netloc}127.0.0.1:{proxy.port}"))
    limiter = RedisRateLimiter(
        through_proxy, MemoryRateLimiter(), prefix=prefix, timeout=2.0, retry_interval=0
    )
    rate = Rate("outage", 3, 60)
    try:
        assert [(await limiter.hit("k", rate)).remaining for _ in range(2)] == [2, 1]
        assert await client.zcard(limiter.key_for("k", rate)) == 2

        await proxy.cut()
        during = [await limiter.hit("k", rate) for _ in range(5)]  # never raises
        assert await limiter.ping() is False

        await proxy.start()  # same port: Redis is back
        assert await limiter.ping() is True
        after = [await limiter.hit("k", rate) for _ in range(2)]
    finally:
        await limiter.aclose()
        await proxy.cut()

    # During the outage: this process's own limits (a fresh memory window).
    assert [d.allowed for d in during] == [True, True, True, False, False]
    # After: Redis again, which still holds the two hits from before the outage.
    assert after == [allowed(3, 0, 60), refused(3, 60)]
    assert any("unavailable" in r.getMessage() for r in caplog.records)
