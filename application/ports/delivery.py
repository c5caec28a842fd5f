"""The worker's side of the outbox: claiming due notifications and recording what
became of them.

A claim is a lease. Claiming a row counts an attempt and hides the row from
other workers until the lease ends; if the worker dies, the row comes back by
itself when the lease runs out. Every later call names the claim it acts on
(`ClaimedNotification.attempt` works as a fencing token), so a worker whose
lease expired and was taken over cannot overwrite the newer claim's outcome.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from application.ports.notifications import Notification


@dataclass(frozen=True, slots=True, kw_only=True)
class ClaimedNotification:
    """One outbox row, leased to the worker that claimed it."""

    #: The row's sequence number: stable for the life of the message.
    row_id: int
    #: Which attempt this claim is (1 for the first).
    attempt: int
    notification: Notification


@dataclass(frozen=True, slots=True, kw_only=True)
class FailedNotification:
    """A dead-lettered row, as an operator sees it."""

    row_id: int
    notification: Notification
    attempts: int
    last_error: str
    last_attempt_at: datetime | None


class OutboxQueue(Protocol):
    """Delivery bookkeeping over the outbox, shared by any number of workers.

    - `claim` never hands the same row to two workers while a lease holds
      (PostgreSQL: `FOR UPDATE SKIP LOCKED`; SQLite: one writer at a time).
    - Rows are claimed oldest due first; a claim is at most `limit` rows, so a
      broadcast to thousands is worked off batch by batch.
    - Outcome methods return False when the claim is no longer current (the
      lease ran out and another worker took the row): nothing was changed.
    """

    async def claim(
        self, *, limit: int, now: datetime, lease: timedelta, max_attempts: int
    ) -> list[ClaimedNotification]:
        """Lease up to `limit` due rows. Rows whose final attempt was leased and
        never reported (the worker died) are dead-lettered instead of claimed."""
        ...

    async def mark_sent(self, claimed: ClaimedNotification, *, now: datetime) -> bool: ...

    async def mark_skipped(
        self, claimed: ClaimedNotification, *, now: datetime, reason: str
    ) -> bool:
        """Done without sending (the recipient's account is closed, ...)."""
        ...

    async def retry_later(self, claimed: ClaimedNotification, *, at: datetime, error: str) -> bool:
        """Give the row back, due again at `at`; the failed attempt still counts."""
        ...

    async def release(self, claimed: ClaimedNotification, *, now: datetime) -> bool:
        """Give the row back unattempted (the worker stops before trying it)."""
        ...

    async def dead_letter(self, claimed: ClaimedNotification, *, error: str) -> bool:
        """No more attempts: the row waits in the failed state for an operator."""
        ...

    async def failed(self, *, limit: int, after_row_id: int = 0) -> list[FailedNotification]:
        """Dead-lettered rows in row order, `limit` at a time after `after_row_id`."""
        ...

    async def retry_failed(self, row_ids: Sequence[int] | None, *, now: datetime) -> int:
        """Make failed rows (these, or all when None) due now with fresh attempts.
        Returns how many rows were revived."""
        ...
