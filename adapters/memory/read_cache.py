"""The read cache of one process: bounded, with a TTL, invalidated in place.

Right for one server process only: a change committed in another process (a
second `--workers`, another host, `eventapi worker`) never reaches it, so such
a change shows here once the TTL has passed at the latest. `eventapi serve`
therefore turns it off when it starts several processes without Redis (see
docs/performance.md, "Read cache").
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

from application.ports.read_cache import CachedResponse, Lookup, ReadCache, ReadChanges, ReadKey

#: Entries kept at most; the least recently used goes first.
DEFAULT_MAX_ENTRIES = 2048
#: Per-event versions remembered at most; past it they restart under a new generation.
DEFAULT_MAX_VERSIONS = 50_000


class MemoryReadCache(ReadCache):
    def __init__(
        self,
        ttl_seconds: int,
        *,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        max_versions: int = DEFAULT_MAX_VERSIONS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_seconds = ttl_seconds
        self._max_entries = max_entries
        self._max_versions = max_versions
        self._monotonic = monotonic
        self._entries: OrderedDict[ReadKey, tuple[str, float, CachedResponse]] = OrderedDict()
        self._everything = 0
        self._listings = 0
        self._events: dict[str, int] = {}

    def _stamp(self, key: ReadKey) -> str:
        part = self._listings if key.kind == "listing" else self._events.get(key.name, 0)
        return f"{self._everything}.{part}"

    async def lookup(self, key: ReadKey) -> Lookup:
        if self.ttl_seconds <= 0:
            return Lookup(key, usable=False)
        stamp = self._stamp(key)
        found = self._entries.get(key)
        if found is not None:
            entry_stamp, expires, response = found
            if entry_stamp == stamp and self._monotonic() < expires:
                self._entries.move_to_end(key)
                return Lookup(key, stamp, hit=response)
            del self._entries[key]
        return Lookup(key, stamp)

    async def store(self, lookup: Lookup, response: CachedResponse) -> None:
        # One event loop: nothing else runs between this check and the write, so an
        # entry read before a change committed is never stored after it.
        if not lookup.usable or lookup.stamp != self._stamp(lookup.key):
            return
        self._entries[lookup.key] = (lookup.stamp, self._monotonic() + self.ttl_seconds, response)
        self._entries.move_to_end(lookup.key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    async def invalidate(self, changes: ReadChanges) -> None:
        if self.ttl_seconds <= 0:
            return
        if changes.everything or len(self._events) + len(changes.event_ids) > self._max_versions:
            self._everything += 1
            self._events.clear()
            self._entries.clear()
            return
        self._listings += 1
        for event_id in changes.event_ids:
            name = str(event_id)
            self._events[name] = self._events.get(name, 0) + 1
            self._entries.pop(ReadKey("event", name), None)
        for key in [key for key in self._entries if key.kind == "listing"]:
            del self._entries[key]

    def __len__(self) -> int:
        return len(self._entries)
