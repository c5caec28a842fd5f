"""A sliding-window rate limiter for one process (the embedded default)."""

from __future__ import annotations

import asyncio
import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable

from application.ports.rate_limiter import Rate, RateDecision, RateLimiter

#: Far more keys than a window of legitimate traffic holds (a few MiB of memory).
DEFAULT_MAX_KEYS = 100_000


class MemoryRateLimiter(RateLimiter):
    """Exact sliding window: at most `limit` allowed hits in any `period_seconds`.

    Keeps the allowed hits' times per key; refused hits are not counted, so a
    client that keeps hammering still gets in once the window has moved on.

    Memory is bounded: a key is forgotten as soon as its newest hit has left
    the window (it holds nothing a later hit could count), and at most
    `max_keys` keys are kept. Keys are held per rate in the order of their
    newest allowed hit, so the expired ones are always at the front and each
    hit drops them in amortised constant time. Past `max_keys` live keys (a
    flood of distinct keys within one window) the least recently counted key
    of the largest rate is dropped: it starts afresh, which loosens that one
    limit rather than letting the process grow without end.
    """

    def __init__(
        self,
        time_source: Callable[[], float] = time.monotonic,
        *,
        max_keys: int = DEFAULT_MAX_KEYS,
    ) -> None:
        if max_keys < 1:
            raise ValueError("max_keys must be positive")
        self._now = time_source
        self._max_keys = max_keys
        #: Per rate name: key -> the allowed hits' times, oldest newest-hit first.
        self._windows: dict[str, OrderedDict[str, deque[float]]] = {}
        self._lock = asyncio.Lock()

    @property
    def tracked_keys(self) -> int:
        """How many (rate, key) windows are held in memory."""
        return sum(len(window) for window in self._windows.values())

    async def hit(self, key: str, rate: Rate) -> RateDecision:
        async with self._lock:
            now = self._now()
            window = self._windows.setdefault(rate.name, OrderedDict())
            self._forget_expired(window, now, rate.period_seconds)
            hits = window.get(key)
            if hits is None:
                hits = deque()
            # Differences of two clock readings are exact; `now - period` and
            # `oldest + period - now` are not, and could be off by one second once ceiled.
            while hits and now - hits[0] >= rate.period_seconds:
                hits.popleft()
            allowed = len(hits) < rate.limit
            if allowed:
                hits.append(now)
                if key not in window:
                    self._make_room()
                window[key] = hits
                window.move_to_end(key)
            oldest_expires = (hits[0] - now) + rate.period_seconds if hits else 0.0
            return RateDecision(
                allowed=allowed,
                limit=rate.limit,
                remaining=rate.limit - len(hits),
                reset_seconds=math.ceil(oldest_expires) if hits else 0,
                retry_after=0 if allowed else max(1, math.ceil(oldest_expires)),
            )

    @staticmethod
    def _forget_expired(window: OrderedDict[str, deque[float]], now: float, period: int) -> None:
        while window:
            hits = next(iter(window.values()))
            if hits and now - hits[-1] < period:
                return
            window.popitem(last=False)

    def _make_room(self) -> None:
        while self.tracked_keys >= self._max_keys:
            largest = max(self._windows.values(), key=len)
            largest.popitem(last=False)
