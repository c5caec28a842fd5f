"""RFC 5545 calendar objects for events, with the icalendar library (well kept,
handles folding, escaping and time zones so we do not hand-write iCalendar)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from uuid import UUID

from icalendar import Calendar, Event, vCalAddress, vGeo

from application.plain_text import html_to_text
from application.ports.queries import CalendarEntry, EventView
from domain.event import EventStatus
from domain.registration import RegistrationStatus


def event_calendar(
    view: EventView,
    *,
    url: str,
    now: datetime,
    method: str = "PUBLISH",
    organizer: str | None = None,
    attendee: tuple[str, str] | None = None,
) -> bytes:
    """A VCALENDAR with one VEVENT. The UID is stable per event and SEQUENCE grows
    with every change of time or place, so calendar apps update the entry in place.

    For mail (iTIP, RFC 5546) give `method` REQUEST or CANCEL, the `organizer`'s
    address and the `attendee` as (name, address). A CANCEL, or any method for a
    cancelled event other than PUBLISH, marks the entry cancelled.
    """
    cancelled = view.status is EventStatus.CANCELLED
    method = "CANCEL" if cancelled and method != "PUBLISH" else method
    cancelled = cancelled or method == "CANCEL"
    calendar = _calendar(method)
    entry = _entry(view, url=url, stamp=now, status="CANCELLED" if cancelled else "CONFIRMED")
    _add_people(entry, organizer, view.organizer.full_name, attendee, method)
    calendar.add_component(entry)
    return bytes(calendar.to_ical())


def deleted_event_calendar(
    event_id: UUID,
    *,
    title: str,
    sequence: int,
    now: datetime,
    organizer: str | None = None,
    attendee: tuple[str, str] | None = None,
) -> bytes:
    """A METHOD:CANCEL for an event that no longer exists: only what its deletion
    notice kept (the UID is derived from the id, as for live events)."""
    calendar = _calendar("CANCEL")
    entry = Event()
    entry.add("uid", uid_of(event_id))
    entry.add("sequence", sequence)
    entry.add("dtstamp", now)
    _add_people(entry, organizer, None, attendee, "CANCEL")
    entry.add("summary", title)
    entry.add("status", "CANCELLED")
    calendar.add_component(entry)
    return bytes(calendar.to_ical())


def feed_calendar(
    entries: Iterable[CalendarEntry], *, name: str, url_of: Callable[[UUID], str]
) -> bytes:
    """A subscribed calendar (no METHOD: RFC 5545 §3.7.2 leaves it out for a plain
    calendar) with one VEVENT per entry, built as the invites build theirs, so the
    UID of an event is the same in the feed, the download and every mail.

    DTSTAMP is the event's last change, not the time of the request, so the feed's
    bytes (and its ETag) change only when something in it does. A waitlisted seat
    is TENTATIVE."""
    calendar = Calendar()
    calendar.add("prodid", "-//eventapi//eventapi//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", name)
    for item in entries:
        status = "TENTATIVE" if item.status is RegistrationStatus.WAITLISTED else "CONFIRMED"
        entry = _entry(
            item.event, url=url_of(item.event.id), stamp=item.event.updated_at, status=status
        )
        calendar.add_component(entry)
    return bytes(calendar.to_ical())


def uid_of(event_id: UUID) -> str:
    return f"{event_id}@eventapi"


def _entry(view: EventView, *, url: str, stamp: datetime, status: str) -> Event:
    """The VEVENT of an event, without its people."""
    entry = Event()
    entry.add("uid", uid_of(view.id))
    entry.add("sequence", view.sequence)
    entry.add("dtstamp", stamp)
    entry.add("dtstart", view.starts_at)
    entry.add("dtend", view.ends_at)
    entry.add("summary", view.title)
    entry.add("description", html_to_text(view.description))  # stored as sanitized HTML
    place = ", ".join(
        part
        for part in (
            view.location.venue,
            view.location.address,
            view.location.city,
            view.location.country,
        )
        if part
    )
    if place:
        entry.add("location", place)
    if view.location.coordinates is not None:
        entry.add(
            "geo", vGeo((view.location.coordinates.latitude, view.location.coordinates.longitude))
        )
    entry.add("status", status)
    entry.add("url", url)
    return entry


def _calendar(method: str) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", "-//eventapi//eventapi//EN")
    calendar.add("version", "2.0")
    calendar.add("method", method)
    return calendar


def _add_people(
    entry: Event,
    organizer: str | None,
    organizer_name: str | None,
    attendee: tuple[str, str] | None,
    method: str,
) -> None:
    if organizer is not None:
        address = vCalAddress(f"mailto:{organizer}")
        if organizer_name:
            address.params["cn"] = organizer_name
        entry.add("organizer", address)
    if attendee is not None:
        name, email = attendee
        address = vCalAddress(f"mailto:{email}")
        address.params["cn"] = name
        address.params["role"] = "REQ-PARTICIPANT"
        address.params["partstat"] = "DECLINED" if method == "CANCEL" else "ACCEPTED"
        address.params["rsvp"] = "FALSE"
        entry.add("attendee", address)
