"""The worker's ports over a MemoryStore: outbox leases and geocoding bookkeeping.

Row ids are positions in the store's outbox list (1 for the first row), which
only ever grows. The delivery state of each row is kept in the store
(`MemoryState.outbox_rows`, so a unit of work can reschedule or withdraw a pending
row as SQL does) and changed under the store's lock, as a database would in one
statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from adapters.memory.state import OUTBOX_PURGED, MemoryStore, OutboxRow
from application.ports.delivery import ClaimedNotification, FailedNotification, OutboxQueue
from application.ports.geocoder import AddressToLocate, EventLocations
from application.ports.notifications import SECRET_DETAILS, without_secrets
from domain.event import EventStatus

#: A row the housekeeping deleted: nothing claims, settles, lists or revives it.
PURGED = OUTBOX_PURGED
ABANDONED = "abandoned: the worker that made the final attempt never reported back"


class MemoryOutboxQueue(OutboxQueue):
    def __init__(self, store: MemoryStore) -> None:
        self._store = store

    @property
    def _rows(self) -> dict[int, OutboxRow]:
        return self._store.state.outbox_rows

    def status(self, row_id: int) -> str:
        """Test-only read access: pending, sent or failed."""
        return self._row(row_id).status

    def delivery_state(self, row_id: int) -> tuple[str, datetime | None]:
        """What became of a row, as people read it: pending, sent, failed, skipped
        (settled without sending) or purged; and when it was sent."""
        row = self._row(row_id)
        if row.status == "sent" and (row.last_error or "").startswith("not sent: "):
            return "skipped", row.sent_at
        return row.status, row.sent_at

    async def claim(
        self, *, limit: int, now: datetime, lease: timedelta, max_attempts: int
    ) -> list[ClaimedNotification]:
        async with self._store.lock:
            outbox = self._store.state.outbox
            due = [
                row_id
                for row_id in range(1, len(outbox) + 1)
                if (row := self._row(row_id)).status == "pending" and row.next_attempt_at <= now
            ]
            due.sort(key=lambda row_id: (self._row(row_id).next_attempt_at, row_id))
            claimed: list[ClaimedNotification] = []
            for row_id in due:
                row = self._row(row_id)
                if row.attempts >= max_attempts:
                    self._rows[row_id] = replace(row, status="failed", last_error=ABANDONED)
                elif len(claimed) < limit:
                    attempt = row.attempts + 1
                    self._rows[row_id] = replace(
                        row, attempts=attempt, next_attempt_at=now + lease, last_attempt_at=now
                    )
                    claimed.append(
                        ClaimedNotification(
                            row_id=row_id, attempt=attempt, notification=outbox[row_id - 1]
                        )
                    )
            return sorted(claimed, key=lambda each: each.row_id)

    async def mark_sent(self, claimed: ClaimedNotification, *, now: datetime) -> bool:
        return await self._settle(claimed, ends=True, status="sent", sent_at=now, last_error=None)

    async def mark_skipped(
        self, claimed: ClaimedNotification, *, now: datetime, reason: str
    ) -> bool:
        return await self._settle(
            claimed, ends=True, status="sent", sent_at=now, last_error=f"not sent: {reason}"
        )

    async def retry_later(self, claimed: ClaimedNotification, *, at: datetime, error: str) -> bool:
        return await self._settle(claimed, next_attempt_at=at, last_error=error)

    async def release(self, claimed: ClaimedNotification, *, now: datetime) -> bool:
        return await self._settle(claimed, attempts=claimed.attempt - 1, next_attempt_at=now)

    async def dead_letter(self, claimed: ClaimedNotification, *, error: str) -> bool:
        return await self._settle(claimed, ends=True, status="failed", last_error=error)

    async def failed(self, *, limit: int, after_row_id: int = 0) -> list[FailedNotification]:
        async with self._store.lock:
            outbox = self._store.state.outbox
            found: list[FailedNotification] = []
            for row_id in range(after_row_id + 1, len(outbox) + 1):
                row = self._row(row_id)
                if row.status == "failed" and len(found) < limit:
                    found.append(
                        FailedNotification(
                            row_id=row_id,
                            notification=outbox[row_id - 1],
                            attempts=row.attempts,
                            last_error=row.last_error or "",
                            last_attempt_at=row.last_attempt_at,
                        )
                    )
            return found

    async def retry_failed(self, row_ids: Sequence[int] | None, *, now: datetime) -> int:
        async with self._store.lock:
            total = len(self._store.state.outbox)
            chosen = (
                range(1, total + 1) if row_ids is None else [i for i in row_ids if 0 < i <= total]
            )
            revived = 0
            for row_id in set(chosen):
                row = self._row(row_id)
                if row.status == "failed":
                    self._rows[row_id] = replace(
                        row, status="pending", attempts=0, next_attempt_at=now
                    )
                    revived += 1
            return revived

    async def purge_sent(self, *, sent_before: datetime, limit: int) -> int:
        """Forget up to `limit` rows sent before `sent_before`, lowest row ids first.
        (Row ids are list positions, so the notification stays in the store's list;
        a purged row is invisible to every method here.)"""
        async with self._store.lock:
            purged = 0
            for row_id in range(1, len(self._store.state.outbox) + 1):
                row = self._row(row_id)
                sent_at = row.sent_at if row.status == "sent" else None
                if purged < limit and sent_at is not None and sent_at < sent_before:
                    self._rows[row_id] = replace(row, status=PURGED)
                    purged += 1
            return purged

    def _row(self, row_id: int) -> OutboxRow:
        return self._store.state.outbox_row(row_id)

    async def _settle(
        self, claimed: ClaimedNotification, *, ends: bool = False, **changes: object
    ) -> bool:
        """Apply `changes` if `claimed` is still current; an outcome that `ends` the
        row also drops the secrets its details held (a mailed token)."""
        async with self._store.lock:
            row = self._row(claimed.row_id)
            if row.status != "pending" or row.attempts != claimed.attempt:
                return False
            self._rows[claimed.row_id] = replace(row, **changes)  # type: ignore[arg-type]
            outbox = self._store.state.outbox
            notification = outbox[claimed.row_id - 1]
            if ends and SECRET_DETAILS & notification.details.keys():
                outbox[claimed.row_id - 1] = replace(
                    notification, details=without_secrets(notification.details)
                )
            return True


@dataclass(frozen=True, slots=True)
class _Attempt:
    address: str
    retry_at: datetime | None


class MemoryEventLocations(EventLocations):
    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self._attempts: dict[object, _Attempt] = {}

    async def awaiting(self, *, limit: int, now: datetime) -> list[AddressToLocate]:
        fresh: list[AddressToLocate] = []
        again: list[tuple[datetime, AddressToLocate]] = []
        for event in sorted(self._store.state.events.values(), key=lambda e: e.id):
            place = event.location
            if (
                place.coordinates is not None
                or event.status is EventStatus.CANCELLED
                or not (place.address or place.city)
            ):
                continue
            waiting = AddressToLocate(event_id=event.id, location=place)
            tried = self._attempts.get(event.id)
            if tried is None or tried.address != place.geocodable_address:
                fresh.append(waiting)
            elif tried.retry_at is not None and tried.retry_at <= now:
                again.append((tried.retry_at, waiting))
        again.sort(key=lambda pair: pair[0])
        return (fresh + [waiting for _, waiting in again])[:limit]

    async def record_attempt(
        self, address: AddressToLocate, *, now: datetime, retry_at: datetime | None
    ) -> bool:
        event = self._store.state.events.get(address.event_id)
        key = address.location.geocodable_address
        if event is None or event.location.geocodable_address != key:
            return False
        self._attempts[address.event_id] = _Attempt(address=key, retry_at=retry_at)
        return True
