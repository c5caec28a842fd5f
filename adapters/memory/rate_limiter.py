"""A sliding-window rate limiter for one process (the embedded default)."""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Callable

from application.ports.rate_limiter import Rate, RateDecision, RateLimiter


class MemoryRateLimiter(RateLimiter):
    """Exact sliding window: at most `limit` allowed hits in any `period_seconds`.

    Keeps the allowed hits' times per key; refused hits are not counted, so a
    client that keeps hammering still gets in once the window has moved on.
    """

    def __init__(self, time_source: Callable[[], float] = time.monotonic) -> None:
        self._now = time_source
        self._hits: dict[tuple[str, str], deque[float]] = {}
        self._lock = asyncio.Lock()

    async def hit(self, key: str, rate: Rate) -> RateDecision:
        async with self._lock:
            now = self._now()
            hits = self._hits.setdefault((rate.name, key), deque())
            # Differences of two clock readings are exact; `now - period` and
            # `oldest + period - now` are not, and could be off by one second once ceiled.
            while hits and now - hits[0] >= rate.period_seconds:
                hits.popleft()
            allowed = len(hits) < rate.limit
            if allowed:
                hits.append(now)
            oldest_expires = (hits[0] - now) + rate.period_seconds if hits else 0.0
            return RateDecision(
                allowed=allowed,
                limit=rate.limit,
                remaining=rate.limit - len(hits),
                reset_seconds=math.ceil(oldest_expires) if hits else 0,
                retry_after=0 if allowed else max(1, math.ceil(oldest_expires)),
            )
