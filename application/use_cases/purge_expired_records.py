from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from application.ports.housekeeping import ExpiredRecords
from application.ports.idempotency import RETENTION as IDEMPOTENCY_RETENTION
from application.ports.system import Clock
from domain.errors import InvalidValue

DEFAULT_BATCH_SIZE = 500


@dataclass(frozen=True, slots=True)
class PurgeReport:
    outbox_rows: int
    sessions: int
    idempotency_keys: int
    #: A batch was full: there may be more to delete right away.
    more: bool
    #: Expired mailed account tokens (reset, verification), used or not.
    account_tokens: int = 0
    #: Lines of webhook delivery logs older than the retention.
    webhook_attempts: int = 0


class PurgeExpiredRecords:
    """Delete one batch of each kind of record that has outlived its use.

    - Notifications are kept for `retention` after they were sent (or skipped),
      then deleted. Pending ones and dead letters are never deleted: they are
      work still to do, or an operator's.
    - A sign-in session is deleted once it has expired, revoked or not, together
      with its spent refresh tokens: none of them can sign anyone in again, and
      presenting one is refused whether the session is there or not.
    - A mailed account token (reset, verification) is deleted once it has
      expired, used or not: an unknown token is refused just the same.
    - A line of a webhook's delivery log is kept as long as sent notifications
      (`retention`), then deleted.
    - An idempotency key (and the answer stored with it) is deleted once it is
      older than its 24 hours: it replays nothing any more, and the answer may
      hold personal data.
    - At most `batch_size` records of each kind per call, so no transaction grows
      with the backlog; `more` tells the caller to call again now.
    """

    def __init__(
        self,
        records: ExpiredRecords,
        clock: Clock,
        *,
        retention: timedelta,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> None:
        if retention < timedelta(0):
            raise InvalidValue("retention", "must not be negative")
        if batch_size < 1:
            raise InvalidValue("batch_size", "must be at least 1")
        self._records = records
        self._clock = clock
        self._retention = retention
        self._batch_size = batch_size

    async def execute(self) -> PurgeReport:
        now = self._clock.now()
        rows = await self._records.purge_sent_notifications(
            sent_before=now - self._retention, limit=self._batch_size
        )
        sessions = await self._records.purge_expired_sessions(
            expired_before=now, limit=self._batch_size
        )
        tokens = await self._records.purge_expired_account_tokens(
            expired_before=now, limit=self._batch_size
        )
        keys = await self._records.purge_idempotency_keys(
            created_before=now - IDEMPOTENCY_RETENTION, limit=self._batch_size
        )
        attempts = await self._records.purge_webhook_attempts(
            before=now - self._retention, limit=self._batch_size
        )
        more = max(rows, sessions, tokens, keys, attempts) >= self._batch_size
        return PurgeReport(
            outbox_rows=rows,
            sessions=sessions,
            idempotency_keys=keys,
            more=more,
            account_tokens=tokens,
            webhook_attempts=attempts,
        )
