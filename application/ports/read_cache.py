"""What anonymous readers read most, kept ready: the `ReadCache` port.

An entry is a finished response (body bytes, `ETag`, content type) for one
`ReadKey`: one published event, or the first page of one listing (its
normalized query). Entries are stamped with the generations they were read
under (`Lookup.stamp`, taken *before* the data was read), so an entry written
by a slow reader after a change was committed never matches the generation
that change made: it is a miss, never a stale hit.

Invalidation follows committed changes (`ReadChanges`, collected by
`application/read_cache.py` around every unit of work): a changed event
invalidates itself and every listing; a change to an account that readers see
(an organizer's name, an account closed) invalidates everything.

Implementations never raise to their caller: a cache that cannot answer
(Redis down) answers "not cached" and the request is served from the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol
from uuid import UUID


@dataclass(frozen=True, slots=True)
class ReadKey:
    """One cacheable read: `kind` is "event" (name: the event's id) or "listing"
    (name: the normalized query of a first page)."""

    kind: str
    name: str

    @classmethod
    def event(cls, event_id: UUID) -> ReadKey:
        return cls("event", str(event_id))

    @classmethod
    def listing(cls, query: str) -> ReadKey:
        return cls("listing", query)


@dataclass(frozen=True, slots=True)
class CachedResponse:
    """A response as it was sent: status 200, these bytes, this ETag and type."""

    body: bytes
    etag: str
    content_type: str


@dataclass(frozen=True, slots=True)
class Lookup:
    """The answer to `ReadCache.lookup`: the entry when it is current, and the stamp
    to store a freshly built one under. `usable` is False when the cache cannot
    be trusted right now (then nothing is stored either)."""

    key: ReadKey
    stamp: str = ""
    hit: CachedResponse | None = None
    usable: bool = True


@dataclass(slots=True)
class ReadChanges:
    """What one committed unit of work changed that anonymous readers may see."""

    event_ids: set[UUID] = field(default_factory=set)
    #: An account readers see changed (a name, an account closed): everything goes.
    everything: bool = False

    def __bool__(self) -> bool:
        return self.everything or bool(self.event_ids)


class ReadCache(Protocol):
    #: Seconds an entry lives at most (the safety net under invalidation); 0 is off.
    ttl_seconds: int

    async def lookup(self, key: ReadKey) -> Lookup:
        """The current entry for `key`, if any, and the stamp to store a new one under."""
        ...

    async def store(self, lookup: Lookup, response: CachedResponse) -> None:
        """Keep `response` for the key of `lookup`, under the stamp it was read with."""
        ...

    async def invalidate(self, changes: ReadChanges) -> None:
        """Committed changes: entries that may show them are never served again."""
        ...
