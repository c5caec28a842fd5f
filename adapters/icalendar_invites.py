"""RFC 5545 calendar objects for events, with the icalendar library (well kept,
handles folding, escaping and time zones so we do not hand-write iCalendar)."""

from __future__ import annotations

import re
from datetime import datetime
from html import unescape

from icalendar import Calendar, Event, vGeo

from application.ports.queries import EventView
from domain.event import EventStatus

_TAGS = re.compile(r"<[^>]+>")


def plain_text(html: str) -> str:
    """Descriptions are sanitized HTML; calendars get text."""
    return unescape(_TAGS.sub(" ", html)).strip()


def event_calendar(view: EventView, *, url: str, now: datetime, method: str = "PUBLISH") -> bytes:
    """A VCALENDAR with one VEVENT. The UID is stable per event and SEQUENCE grows
    with every change of time or place, so calendar apps update the entry in place."""
    cancelled = view.status is EventStatus.CANCELLED
    calendar = Calendar()
    calendar.add("prodid", "-//eventapi//eventapi//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if cancelled and method != "PUBLISH" else method)
    entry = Event()
    entry.add("uid", f"{view.id}@eventapi")
    entry.add("sequence", view.sequence)
    entry.add("dtstamp", now)
    entry.add("dtstart", view.starts_at)
    entry.add("dtend", view.ends_at)
    entry.add("summary", view.title)
    entry.add("description", plain_text(view.description))
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
    entry.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    entry.add("url", url)
    calendar.add_component(entry)
    return bytes(calendar.to_ical())
