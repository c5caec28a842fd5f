"""The read cache shared by every server process, on Redis.

Keys (all under `<prefix>:`, e.g. `eventapi:rc:`):

- `gen`: the generation of everything, bumped when an account readers see
  changes (an organizer renamed or closed);
- `gen:listings`: the generation of every listing, bumped by any event change;
- `gen:event:<id>`: the version of one event, bumped when it changes (expires
  after a day without changes; a day is far longer than any request);
- `listing:<sha256 of the query>` and `event:<id>`: the entries, each with the
  stamp (`gen.part`) read *before* its data was, and an expiry of the TTL.

A lookup is one round trip (`MGET` of the two generations and the entry); an
entry is a hit only if its stamp equals the current one. Invalidation is one
pipelined round trip of `INCR`s, made after the commit and before the response
returns: the writer's next read, in any process, misses and reads the database;
an entry stored meanwhile by a reader that read older data carries the older
stamp and is never a hit.

Redis down or slow (past the timeout): lookups answer "not cached" (the request
is served from the database), nothing is stored, and Redis is tried again at
most once per `retry_interval`. A failed invalidation also makes this process
ignore every entry for one TTL, since entries it could not invalidate may still
be in Redis; the other processes see such entries expire within the TTL. This
adapter never raises to its caller.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Callable

from redis.asyncio import Redis

from application.ports.read_cache import CachedResponse, Lookup, ReadCache, ReadChanges, ReadKey

log = logging.getLogger("eventapi.read_cache")

DEFAULT_PREFIX = "eventapi:rc"
DEFAULT_TIMEOUT_SECONDS = 0.25
#: How long a per-event version outlives its last change.
VERSION_SECONDS = 24 * 60 * 60


class RedisReadCache(ReadCache):
    def __init__(
        self,
        redis: Redis,
        ttl_seconds: int,
        *,
        prefix: str = DEFAULT_PREFIX,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        retry_interval: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_seconds = ttl_seconds
        self._redis = redis
        self._prefix = prefix
        self._timeout = timeout
        self._retry_interval = retry_interval
        self._monotonic = monotonic
        self._down_until = 0.0
        self._distrust_until = 0.0
        self._down = False

    # -- keys -------------------------------------------------------------------------

    @property
    def everything_key(self) -> str:
        return f"{self._prefix}:gen"

    @property
    def listings_key(self) -> str:
        return f"{self._prefix}:gen:listings"

    def version_key(self, event_id: str) -> str:
        return f"{self._prefix}:gen:event:{event_id}"

    def entry_key(self, key: ReadKey) -> str:
        if key.kind == "event":
            return f"{self._prefix}:event:{key.name}"
        return f"{self._prefix}:{key.kind}:{hashlib.sha256(key.name.encode()).hexdigest()}"

    def _part_key(self, key: ReadKey) -> str:
        return self.version_key(key.name) if key.kind == "event" else self.listings_key

    # -- the port ---------------------------------------------------------------------

    async def lookup(self, key: ReadKey) -> Lookup:
        now = self._monotonic()
        if self.ttl_seconds <= 0 or now < self._down_until or now < self._distrust_until:
            return Lookup(key, usable=False)
        try:
            async with asyncio.timeout(self._timeout):
                everything, part, entry = await self._redis.mget(
                    self.everything_key, self._part_key(key), self.entry_key(key)
                )
            stamp = f"{int(everything or 0)}.{int(part or 0)}"
            hit = _decode(entry if isinstance(entry, bytes) else None, stamp)
        except Exception as exc:  # whatever went wrong, the request is served uncached
            self._went_wrong(exc, "lookup")
            return Lookup(key, usable=False)
        self._answered()
        return Lookup(key, stamp, hit=hit)

    async def store(self, lookup: Lookup, response: CachedResponse) -> None:
        if not lookup.usable or self._monotonic() < self._down_until:
            return
        try:
            async with asyncio.timeout(self._timeout):
                await self._redis.set(
                    self.entry_key(lookup.key), _encode(lookup.stamp, response), ex=self.ttl_seconds
                )
        except Exception as exc:  # not stored: the next reader builds it again
            self._went_wrong(exc, "store")

    async def invalidate(self, changes: ReadChanges) -> None:
        if self.ttl_seconds <= 0:
            return
        try:
            async with asyncio.timeout(self._timeout):
                pipeline = self._redis.pipeline(transaction=False)
                if changes.everything:
                    pipeline.incr(self.everything_key)
                else:
                    pipeline.incr(self.listings_key)
                    for event_id in sorted(changes.event_ids):
                        name = self.version_key(str(event_id))
                        pipeline.incr(name)
                        pipeline.expire(name, VERSION_SECONDS)
                await pipeline.execute()
        except Exception as exc:  # see the module docstring: distrust, never raise
            self._distrust_until = self._monotonic() + self.ttl_seconds
            self._went_wrong(exc, "invalidation")
        else:
            self._answered()

    async def aclose(self) -> None:
        await self._redis.aclose()

    # -- failures ---------------------------------------------------------------------

    def _went_wrong(self, exc: BaseException, what: str) -> None:
        self._down_until = self._monotonic() + self._retry_interval
        if not self._down:
            # The exception's type only: its text could carry the URL and a password.
            log.warning(
                "Redis read cache unavailable (%s in %s); reads are served uncached",
                type(exc).__name__,
                what,
            )
        self._down = True

    def _answered(self) -> None:
        if self._down:
            log.info("Redis read cache reachable again")
        self._down = False
        self._down_until = 0.0


def _encode(stamp: str, response: CachedResponse) -> bytes:
    head = f"{stamp}\n{response.etag}\n{response.content_type}\n".encode("latin-1")
    return head + response.body


def _decode(raw: bytes | None, stamp: str) -> CachedResponse | None:
    """The entry when its stamp is `stamp`; None for no entry, an old one, or garbage."""
    if raw is None:
        return None
    parts = raw.split(b"\n", 3)
    if len(parts) != 4 or parts[0].decode("latin-1") != stamp:
        return None
    return CachedResponse(
        body=parts[3], etag=parts[1].decode("latin-1"), content_type=parts[2].decode("latin-1")
    )
