"""Counting attempts against limits shared by every server process."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Rate:
    """`limit` hits per `period_seconds`, named for the RateLimit-Policy header."""

    name: str
    limit: int
    period_seconds: int

    def __post_init__(self) -> None:
        if self.limit < 1 or self.period_seconds < 1:
            raise ValueError("a rate needs a positive limit and period")


@dataclass(frozen=True, slots=True, kw_only=True)
class RateDecision:
    allowed: bool
    limit: int
    remaining: int
    #: Seconds until the oldest counted hit leaves the window (one more slot frees up).
    reset_seconds: int
    #: Seconds to wait before the next hit can succeed (0 when allowed).
    retry_after: int


class RateLimiter(Protocol):
    async def hit(self, key: str, rate: Rate) -> RateDecision:
        """Count one hit for `key` under `rate` and say whether it is allowed.
        A refused hit is not counted."""
        ...
