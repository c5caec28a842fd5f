"""Finding 9 (issue 9): the in-process rate limiter forgot no key, so a stream of
sign-in attempts with made-up e-mails grew the process without end. Keys whose
window has passed are dropped, and the number of keys held has a ceiling.

Time is an injected fake clock, moved forward by the test; nothing sleeps.
"""

from __future__ import annotations

from adapters.memory.rate_limiter import MemoryRateLimiter
from application.ports.rate_limiter import Rate

ACCOUNT = Rate("password-checks", 10, 15 * 60)
MINUTE = Rate("anonymous", 120, 60)


class Clock:
    def __init__(self) -> None:
        self.seconds = 1000.0

    def __call__(self) -> float:
        return self.seconds


async def test_keys_whose_window_has_passed_are_forgotten() -> None:
    clock = Clock()
    limiter = MemoryRateLimiter(clock)
    for number in range(8000):  # the reported attack: one guess each for random e-mails
        await limiter.hit(f"account:{number}@example.org", ACCOUNT)
    assert limiter.tracked_keys == 8000

    clock.seconds += ACCOUNT.period_seconds  # every one of those windows has passed
    await limiter.hit("account:someone@example.org", ACCOUNT)

    assert limiter.tracked_keys == 1


async def test_keys_still_in_their_window_are_kept_and_counted() -> None:
    clock = Clock()
    limiter = MemoryRateLimiter(clock)
    for _ in range(10):
        await limiter.hit("account:victim@example.org", ACCOUNT)
    clock.seconds += ACCOUNT.period_seconds - 1
    for number in range(100):
        await limiter.hit(f"account:{number}@example.org", ACCOUNT)

    decision = await limiter.hit("account:victim@example.org", ACCOUNT)

    assert not decision.allowed
    assert limiter.tracked_keys == 101


async def test_the_number_of_keys_held_has_a_ceiling() -> None:
    clock = Clock()
    limiter = MemoryRateLimiter(clock, max_keys=500)
    for number in range(5000):  # all within one window: nothing has expired yet
        await limiter.hit(f"address:198.51.100.{number}", MINUTE)
        await limiter.hit(f"account:{number}@example.org", ACCOUNT)

    assert limiter.tracked_keys <= 500
    # The newest keys are the ones kept, and they still count.
    for _ in range(9):
        await limiter.hit("account:4999@example.org", ACCOUNT)
    assert not (await limiter.hit("account:4999@example.org", ACCOUNT)).allowed
