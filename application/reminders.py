"""When an event's confirmed attendees are reminded of it (EVENTAPI_REMINDER_BEFORE).

A reminder is an outbox row with a due time, not a queue of its own. Its cause is
the same for everyone and for the life of the event (`reminder_cause`), so the
outbox's one-message-per-cause-and-person rule makes it exactly once per person
and event, even for someone who leaves and joins again after it went out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID, uuid5

from domain.errors import InvalidValue

DEFAULT_REMINDER_BEFORE = timedelta(hours=24)


def reminder_cause(event_id: UUID) -> UUID:
    """The cause id of every reminder of one event."""
    return uuid5(event_id, "reminder")


@dataclass(frozen=True, slots=True)
class ReminderSchedule:
    """How long before the start the reminder is due."""

    before: timedelta = DEFAULT_REMINDER_BEFORE

    def __post_init__(self) -> None:
        if self.before <= timedelta(0):
            raise InvalidValue("reminder_before", "must be positive")

    def due_at(self, starts_at: datetime | None, *, now: datetime) -> datetime | None:
        """When the reminder for an event starting at `starts_at` is due, or None when
        that time is not after `now` (a seat taken later: its confirmation is the
        reminder)."""
        if starts_at is None:
            return None
        due = starts_at - self.before
        return due if due > now else None
