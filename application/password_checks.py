"""Checking a password typed for an account, within the account's budget of checks."""

from __future__ import annotations

from application.errors import TooManyAttempts
from application.ports.rate_limiter import Rate, RateLimiter
from application.ports.security import PasswordHasher
from domain.values import EmailAddress

#: At most 10 password checks per account per 15 minutes (the API contract's default).
DEFAULT_ACCOUNT_RATE = Rate("password-checks", 10, 15 * 60)


class PasswordChecks:
    """The only way use cases check a password: each check spends one of the
    account's budget, whichever route asked (signing in, changing the password),
    so none of them can become an unthrottled password oracle.

    - The budget is per account (its email), shared by every route and, through
      the limiter, by every server process.
    - A check is counted before bcrypt runs, right or wrong; with the budget
      spent, TooManyAttempts is raised and no check is made.
    - An email that has no account spends a budget too, so the answer never
      tells the two apart.
    - `rate=None` turns the budget off (`EVENTAPI_RATE_LIMITS=off`).
    """

    def __init__(
        self,
        hasher: PasswordHasher,
        limiter: RateLimiter,
        rate: Rate | None = DEFAULT_ACCOUNT_RATE,
    ) -> None:
        self._hasher = hasher
        self._limiter = limiter
        self._rate = rate

    async def verify(
        self, account: EmailAddress | None, password: str, password_hash: str | None
    ) -> bool:
        """Whether `password` matches `password_hash` (None: no such account, False
        after the same work). `account` None (not even an email) spends no budget."""
        if account is not None and self._rate is not None:
            decision = await self._limiter.hit(f"account:{account}", self._rate)
            if not decision.allowed:
                raise TooManyAttempts(decision.retry_after)
        return await self._hasher.verify(password, password_hash)
