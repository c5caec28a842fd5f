"""A process-wide pace for calls to one third party (Nominatim: one a second).

Each caller reserves the next free slot under a thread lock, then sleeps until
it comes, so callers never wait on each other's sleeps, and the gate works
across threads and event loops alike (an asyncio.Lock belongs to one loop).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable


class RateGate:
    def __init__(
        self,
        interval: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._interval = interval
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next_free = float("-inf")

    async def wait(self) -> None:
        """Return when this caller may go: at least `interval` after the previous one."""
        with self._lock:
            now = self._clock()
            slot = max(now, self._next_free)
            self._next_free = slot + self._interval
        if slot > now:
            await self._sleep(slot - now)


#: Nominatim's usage policy: at most one request per second from the whole application.
NOMINATIM_GATE = RateGate(1.0)
