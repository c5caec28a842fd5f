"""How the worker paces delivery: batch size, lease, retries and when to give up."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from application.ports.notifications import NotificationKind
from domain.errors import InvalidValue

#: What may go to an address nobody has proved to read (EVENTAPI_REQUIRE_VERIFIED_EMAIL):
#: the mails whose link proves it. The welcome mail carries the first verification
#: link; a reset link proves control of the address just as well (docs/security.md).
TO_UNVERIFIED_ADDRESSES = frozenset(
    {NotificationKind.WELCOME, NotificationKind.EMAIL_VERIFICATION, NotificationKind.PASSWORD_RESET}
)
#: The mails that carry the seat's ticket code, read at delivery (never stored in
#: the outbox) and shown as text and as a QR code (adapters/mail/composer.py).
TICKET_KINDS = frozenset(
    {
        NotificationKind.REGISTRATION_CONFIRMED,
        NotificationKind.REGISTRATION_PROMOTED,
        NotificationKind.REMINDER,
    }
)
#: Kinds that are nothing without the token their details carry.
TOKEN_KINDS = frozenset({NotificationKind.EMAIL_VERIFICATION, NotificationKind.PASSWORD_RESET})


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryPolicy:
    """Defaults give up after 10 attempts spread over about three hours."""

    batch_size: int = 50
    #: How long a claimed batch is hidden from other workers. A batch still being
    #: worked on at half of it gives its untried rows back rather than risk both.
    lease: timedelta = timedelta(minutes=5)
    max_attempts: int = 10
    first_retry: timedelta = timedelta(seconds=30)
    longest_retry: timedelta = timedelta(hours=1)
    #: The right-hand side of every Message-ID (`<row.cause@domain>`).
    message_id_domain: str = "eventapi"
    #: EVENTAPI_REQUIRE_VERIFIED_EMAIL: when on, only `TO_UNVERIFIED_ADDRESSES`
    #: go to an unverified address; everything else is skipped at delivery.
    require_verified_email: bool = False

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise InvalidValue("batch_size", "must be at least 1")
        if self.max_attempts < 1:
            raise InvalidValue("max_attempts", "must be at least 1")
        if self.lease <= timedelta(0) or self.first_retry < timedelta(0):
            raise InvalidValue("lease", "must be positive")
        if self.longest_retry < self.first_retry:
            raise InvalidValue("longest_retry", "must not be shorter than first_retry")

    def retry_delay(self, attempt: int, jitter: float) -> timedelta:
        """Exponential backoff with "equal jitter": the `attempt`-th failure waits
        `first_retry * 2**(attempt-1)` (capped at `longest_retry`), of which a
        random half (`jitter` in [0, 1)) is taken off, so that messages that
        failed together do not all come back at the same instant."""
        exponent = min(max(attempt - 1, 0), 32)
        ceiling = min(self.first_retry * (1 << exponent), self.longest_retry)
        return ceiling / 2 + ceiling / 2 * min(max(jitter, 0.0), 1.0)

    def may_deliver(self, kind: NotificationKind, *, email_verified: bool) -> bool:
        return email_verified or not self.require_verified_email or kind in TO_UNVERIFIED_ADDRESSES

    def message_id(self, row_id: int, cause_id: UUID) -> str:
        """Stable per outbox row: every delivery of the row carries the same id.
        The cause keeps it unique across databases whose row ids restart."""
        return f"<{row_id}.{cause_id.hex}@{self.message_id_domain}>"
