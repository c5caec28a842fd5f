"""Domain errors: one base class, specific subclasses that carry data, not HTTP codes."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID


class DomainError(Exception):
    """Base of every rule violation the core reports to its callers."""

    code: str = "domain-error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidValue(DomainError):
    """A value object or entity field failed validation."""

    code = "invalid-value"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class NotFound(DomainError):
    """The thing does not exist, or the caller may not know that it does."""

    code = "not-found"

    def __init__(self, kind: str, id: UUID | str) -> None:
        super().__init__(f"{kind} {id} not found")
        self.kind = kind
        self.id = id


class NotAllowed(DomainError):
    """The caller is known but may not do this."""

    code = "not-allowed"


class Conflict(DomainError):
    """The request is valid but clashes with the current state."""

    code = "conflict"


class EmailTaken(Conflict):
    code = "email-taken"

    def __init__(self) -> None:
        super().__init__("an account with this email already exists")


class EventFull(Conflict):
    code = "event-full"

    def __init__(self, event_id: UUID) -> None:
        super().__init__("the event has no seats left and no waitlist")
        self.event_id = event_id


class AlreadyRegistered(Conflict):
    code = "already-registered"

    def __init__(self, event_id: UUID, user_id: UUID) -> None:
        super().__init__("the user is already registered for this event")
        self.event_id = event_id
        self.user_id = user_id


class EventNotJoinable(Conflict):
    code = "event-not-joinable"


class NotRegistered(Conflict):
    code = "not-registered"

    def __init__(self, event_id: UUID, user_id: UUID) -> None:
        super().__init__("the user holds no registration for this event")
        self.event_id = event_id
        self.user_id = user_id


class CapacityBelowAttendees(Conflict):
    code = "capacity-below-attendees"

    def __init__(self, capacity: int, attendees: int) -> None:
        super().__init__(f"capacity {capacity} is below the {attendees} confirmed attendees")
        self.capacity = capacity
        self.attendees = attendees


class InvalidTransition(Conflict):
    code = "invalid-status-transition"

    def __init__(self, current: str, target: str) -> None:
        super().__init__(f"an event cannot go from {current} to {target}")
        self.current = current
        self.target = target


class EventLocked(Conflict):
    """A cancelled event is final: nothing about it changes any more."""

    code = "event-cancelled"

    def __init__(self, event_id: UUID) -> None:
        super().__init__("the event is cancelled and can no longer change")
        self.event_id = event_id


class NotAnOrganizer(Conflict):
    """Only an active organizer or admin can co-organize. An unknown account gets the
    same answer, so the route tells nothing about who exists."""

    code = "not-an-organizer"

    def __init__(self, user_id: UUID) -> None:
        super().__init__("the user is not an active organizer or admin")
        self.user_id = user_id


class AlreadyCoOrganizer(Conflict):
    code = "already-co-organizer"

    def __init__(self, event_id: UUID, user_id: UUID) -> None:
        super().__init__("the user already co-organizes this event")
        self.event_id = event_id
        self.user_id = user_id


class OwnerNotCoOrganizer(Conflict):
    code = "owner-not-co-organizer"

    def __init__(self, event_id: UUID) -> None:
        super().__init__("the event's organizer cannot also be its co-organizer")
        self.event_id = event_id


class AlreadyCheckedIn(Conflict):
    """The ticket was scanned before: `checked_in_at` is when it was first."""

    code = "already-checked-in"

    def __init__(self, registration_id: UUID, checked_in_at: datetime) -> None:
        super().__init__(f"this ticket was already checked in at {checked_in_at.isoformat()}")
        self.registration_id = registration_id
        self.checked_in_at = checked_in_at


class TicketNotValid(Conflict):
    """The ticket belongs to the event but no longer holds a seat (cancelled)."""

    code = "ticket-not-valid"

    def __init__(self, registration_id: UUID, status: str) -> None:
        super().__init__(f"this ticket's registration is {status}, not confirmed")
        self.registration_id = registration_id
        self.status = status


class LastActiveAdmin(Conflict):
    code = "last-active-admin"

    def __init__(self) -> None:
        super().__init__("the last active admin cannot be demoted, deactivated or deleted")


class InvalidCredentials(DomainError):
    """Wrong email or password, or a bad refresh token: deliberately vague."""

    code = "invalid-grant"


class InvalidToken(DomainError):
    """A mailed account token (password reset, e-mail verification) that is
    unknown, used, voided by a newer one, or expired: deliberately one answer."""

    code = "invalid-token"

    def __init__(self) -> None:
        super().__init__("the token is not valid: it is unknown, used or expired")
