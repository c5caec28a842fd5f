"""One contract for every `ReadCache`: the in-process one and the Redis one.

Both must never serve an entry that a committed change could have made stale:
an entry is a hit only under the stamp it was read with, a change to an event
invalidates that event and every listing (and nothing else), a change to what
readers see of an account invalidates everything, and an entry built from a
read that began before a change is never served after it. Time is moved, never
waited for: the memory cache reads an injected clock; for Redis the test reads
the expiry Redis was given.

The Redis tests use `EVENTAPI_TEST_REDIS_URL` under a fresh key prefix (deleted
afterwards) and fail, never skip, when Redis is unreachable. Also here, for Redis
only: an unreachable Redis and one that goes away mid-run are "not cached",
never an error, and a failed invalidation makes the process distrust its entries
for one TTL.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from uuid import UUID, uuid4

import pytest
from redis.asyncio import Redis

from adapters.memory.read_cache import MemoryReadCache
from adapters.redis_client import redis_client
from adapters.redis_read_cache import RedisReadCache
from application.ports.read_cache import CachedResponse, ReadCache, ReadChanges, ReadKey
from tests.redis_support import redis_under_prefix, redis_url
from tests.tcp_proxy import LOOPBACK, TcpProxy

TTL = 30


class Clock:
    def __init__(self) -> None:
        self.seconds = 1000.0

    def __call__(self) -> float:
        return self.seconds


@dataclass
class Subject:
    name: str
    cache: ReadCache
    #: Whether the entry for `key` (if any) expires within the TTL.
    expires_in_time: Callable[[ReadKey], Awaitable[bool]]


def response(text: str) -> CachedResponse:
    return CachedResponse(body=text.encode(), etag=f'"{text}"', content_type="application/json")


#: The timeout of caches whose tests are not about a slow Redis: a loaded machine can
#: stall one call past the default 0.5 s, and the cache would then rightly distrust
#: itself (which `test_redis_going_away_mid_run...` tests on purpose).
PATIENT = 10.0


@pytest.fixture(params=["memory", "redis"])
async def subject(request: pytest.FixtureRequest) -> AsyncIterator[Subject]:
    if request.param == "memory":
        clock = Clock()
        memory = MemoryReadCache(TTL, monotonic=clock)

        async def memory_expiry(key: ReadKey) -> bool:
            found = await memory.lookup(key)
            clock.seconds += TTL
            expired = await memory.lookup(key)
            clock.seconds -= TTL
            return found.hit is not None and expired.hit is None

        yield Subject("memory", memory, memory_expiry)
        return
    async with redis_under_prefix() as (client, prefix):
        cache = RedisReadCache(client, TTL, prefix=prefix, timeout=PATIENT)

        async def redis_expiry(key: ReadKey) -> bool:
            seconds = await client.ttl(cache.entry_key(key))
            return 0 < seconds <= TTL

        yield Subject("redis", cache, redis_expiry)


async def stored(cache: ReadCache, key: ReadKey, text: str) -> None:
    lookup = await cache.lookup(key)
    assert lookup.usable
    await cache.store(lookup, response(text))


async def hit(cache: ReadCache, key: ReadKey) -> CachedResponse | None:
    return (await cache.lookup(key)).hit


async def test_a_stored_response_is_a_hit_byte_for_byte(subject: Subject) -> None:
    event = ReadKey.event(uuid4())
    listing = ReadKey.listing("city=Berlin&limit=20")
    assert await hit(subject.cache, event) is None

    await stored(subject.cache, event, "the event")
    await stored(subject.cache, listing, "the page")

    assert await hit(subject.cache, event) == response("the event")
    assert await hit(subject.cache, listing) == response("the page")
    assert await hit(subject.cache, ReadKey.listing("city=Paris&limit=20")) is None


async def test_entries_expire_after_the_ttl(subject: Subject) -> None:
    key = ReadKey.event(uuid4())
    await stored(subject.cache, key, "the event")
    assert await subject.expires_in_time(key)


async def test_a_changed_event_invalidates_itself_and_every_listing_only(subject: Subject) -> None:
    changed, other = uuid4(), uuid4()
    listings = [ReadKey.listing(""), ReadKey.listing("available=true")]
    for key in [ReadKey.event(changed), ReadKey.event(other), *listings]:
        await stored(subject.cache, key, key.name)

    await subject.cache.invalidate(ReadChanges(event_ids={changed}))

    assert await hit(subject.cache, ReadKey.event(changed)) is None
    assert [await hit(subject.cache, key) for key in listings] == [None, None]
    assert await hit(subject.cache, ReadKey.event(other)) == response(str(other))
    # Built again, it is served again.
    await stored(subject.cache, ReadKey.event(changed), "fresh")
    assert await hit(subject.cache, ReadKey.event(changed)) == response("fresh")


async def test_a_change_readers_see_on_an_account_invalidates_everything(
    subject: Subject,
) -> None:
    keys = [ReadKey.event(uuid4()), ReadKey.event(uuid4()), ReadKey.listing("")]
    for key in keys:
        await stored(subject.cache, key, key.name)

    await subject.cache.invalidate(ReadChanges(everything=True))

    assert [await hit(subject.cache, key) for key in keys] == [None, None, None]


async def test_an_entry_read_before_a_change_is_never_served_after_it(subject: Subject) -> None:
    """A reader looks up (miss), reads the database, and stores only after a writer
    committed and invalidated: what it stores must not be served."""
    event_id = uuid4()
    event, listing = ReadKey.event(event_id), ReadKey.listing("")
    slow_event = await subject.cache.lookup(event)
    slow_listing = await subject.cache.lookup(listing)

    await subject.cache.invalidate(ReadChanges(event_ids={event_id}))
    await subject.cache.store(slow_event, response("before the change"))
    await subject.cache.store(slow_listing, response("before the change"))

    assert await hit(subject.cache, event) is None
    assert await hit(subject.cache, listing) is None


async def test_an_event_change_does_not_revive_an_entry_from_before_an_account_change(
    subject: Subject,
) -> None:
    key = ReadKey.event(uuid4())
    before = await subject.cache.lookup(key)
    await subject.cache.invalidate(ReadChanges(everything=True))
    await subject.cache.store(before, response("stale"))
    await subject.cache.invalidate(ReadChanges(event_ids={uuid4()}))
    assert await hit(subject.cache, key) is None


async def test_nothing_is_cached_with_a_ttl_of_zero(subject: Subject) -> None:
    subject.cache.ttl_seconds = 0
    key = ReadKey.event(uuid4())
    lookup = await subject.cache.lookup(key)
    assert not lookup.usable
    await subject.cache.store(lookup, response("never"))
    await subject.cache.invalidate(ReadChanges(everything=True))
    subject.cache.ttl_seconds = TTL
    assert await hit(subject.cache, key) is None


async def test_the_memory_cache_keeps_at_most_its_bound() -> None:
    cache = MemoryReadCache(TTL, max_entries=3)
    keys = [ReadKey.event(UUID(int=n)) for n in range(5)]
    for key in keys:
        await stored(cache, key, key.name)
    assert len(cache) == 3
    assert [await hit(cache, key) is not None for key in keys] == [False, False, True, True, True]


# -- Redis only: sharing, outages ---------------------------------------------------------


@pytest.fixture
async def shared() -> AsyncIterator[tuple[Redis, str]]:
    async with redis_under_prefix() as found:
        yield found


async def test_two_processes_sharing_redis_see_each_others_entries_and_invalidations(
    shared: tuple[Redis, str],
) -> None:
    _, prefix = shared
    first = RedisReadCache(
        redis_client(redis_url(), timeout=PATIENT), TTL, prefix=prefix, timeout=PATIENT
    )
    second = RedisReadCache(
        redis_client(redis_url(), timeout=PATIENT), TTL, prefix=prefix, timeout=PATIENT
    )
    event_id = uuid4()
    key = ReadKey.event(event_id)
    try:
        await stored(first, key, "built by the first")
        assert await hit(second, key) == response("built by the first")

        await second.invalidate(ReadChanges(event_ids={event_id}))

        assert await hit(first, key) is None
    finally:
        await first.aclose()
        await second.aclose()


async def test_an_unreachable_redis_is_not_cached_never_an_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    cache = RedisReadCache(redis_client("redis://127.0.0.1:1/0"), TTL, prefix="unreachable")
    key = ReadKey.event(uuid4())
    with caplog.at_level(logging.WARNING, logger="eventapi.read_cache"):
        lookup = await cache.lookup(key)
        await cache.store(lookup, response("nowhere"))
        await cache.invalidate(ReadChanges(everything=True))
    await cache.aclose()
    assert not lookup.usable
    assert lookup.hit is None
    assert "Redis read cache unavailable (ConnectionError" in caplog.text
    assert "redis://" not in caplog.text


async def test_redis_going_away_mid_run_is_survived_and_distrusted_for_a_ttl(
    shared: tuple[Redis, str],
) -> None:
    """Entries this process could not invalidate may still be in Redis: it serves none
    of them until they have expired, even once Redis answers again."""
    _, prefix = shared
    port = int(redis_url().rsplit(":", 1)[1].split("/")[0])
    database = redis_url().rsplit("/", 1)[1]
    proxy = TcpProxy(LOOPBACK, port)
    proxy.start()
    clock = Clock()
    cache = RedisReadCache(
        redis_client(f"redis://{LOOPBACK}:{proxy.port}/{database}"),
        TTL,
        prefix=prefix,
        retry_interval=1.0,
        monotonic=clock,
    )
    event_id = uuid4()
    key = ReadKey.event(event_id)
    try:
        await stored(cache, key, "before the change")
        assert await hit(cache, key) == response("before the change")

        proxy.kill()
        await cache.invalidate(ReadChanges(event_ids={event_id}))  # fails, silently
        assert not (await cache.lookup(key)).usable

        proxy.start()
        clock.seconds += 2  # past the retry interval: Redis answers again...
        assert not (await cache.lookup(key)).usable  # ...but its entries are distrusted
        clock.seconds += TTL  # until every entry from before has expired
        assert (await cache.lookup(key)).usable
    finally:
        await cache.aclose()
        proxy.close()
