"""Errors of the application layer: about callers and requests, not business rules.

They share the domain's base class so that every entrypoint reports them the way
it reports a broken rule, but no aggregate raises them.
"""

from __future__ import annotations

from application.ports.rate_limiter import Rate
from domain.errors import DomainError


class NotAuthenticated(DomainError):
    """No valid credentials came with the call."""

    code = "not-authenticated"


class TooManyAttempts(DomainError):
    code = "too-many-attempts"

    def __init__(self, retry_after: int, rate: Rate | None = None) -> None:
        super().__init__("too many attempts; try again later")
        self.retry_after = retry_after
        #: The policy that refused, when the caller names it (reported in the
        #: RateLimit headers, and by the metrics, as the HTTP policies are).
        self.rate = rate


class PreconditionFailed(DomainError):
    """The caller's copy is stale (If-Match did not match the current version)."""

    code = "precondition-failed"

    def __init__(self) -> None:
        super().__init__("the resource has changed since it was read")


class EmailUnverified(DomainError):
    """EVENTAPI_REQUIRE_VERIFIED_EMAIL is on and the caller's address is not verified."""

    code = "email-unverified"

    def __init__(self) -> None:
        super().__init__("verify your e-mail address first (POST /api/v1/auth/verify-email)")
