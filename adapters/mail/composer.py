"""Notifications as MIME messages: a plain-text and an HTML part from jinja2
templates (autoescaped HTML), and an RFC 5545 invite where an event is concerned.

One template pair per `NotificationKind` (`templates/<kind>.txt` and `.html`),
and one subject macro each in `templates/subjects.txt`. Everything a template
shows comes from the context built here, as plain values: the event's
description is reduced to text, never passed on as markup.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage, MIMEPart
from email.policy import SMTP
from email.utils import format_datetime, parseaddr
from pathlib import Path
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from adapters.icalendar_invites import deleted_event_calendar, event_calendar
from adapters.mail.ticket_qr import ticket_qr_png
from application.delivery_policy import TICKET_KINDS
from application.plain_text import html_to_text
from application.ports.notifications import Notification, NotificationKind, Recipient
from application.ports.queries import EventView
from domain.countries import country_name

TEMPLATES = Path(__file__).resolve().parent / "templates"
DESCRIPTION_EXCERPT = 600
EN_DASH = "\u2013"
Kind = NotificationKind

#: The iTIP method of the invite attached to each kind; no entry, no invite.
#: The organizer's own copies and waitlist places are for information (PUBLISH);
#: a seat, and any change to it, is a REQUEST; losing it is a CANCEL.
INVITE_METHODS: dict[NotificationKind, str] = {
    Kind.EVENT_CREATED: "PUBLISH",
    Kind.EVENT_PUBLISHED: "PUBLISH",
    Kind.REGISTRATION_CONFIRMED: "REQUEST",
    Kind.REGISTRATION_WAITLISTED: "PUBLISH",
    Kind.REGISTRATION_PROMOTED: "REQUEST",
    Kind.REGISTRATION_ENDED: "CANCEL",
    Kind.EVENT_CHANGED: "REQUEST",
    Kind.EVENT_CANCELLED: "CANCEL",
    Kind.EVENT_DELETED: "CANCEL",
    Kind.REMINDER: "REQUEST",
}
#: The mails that carry the seat's ticket: its code as text, and as a QR code image
#: inline in the HTML part (multipart/related, `cid:`). The worker adds the code to
#: the details at delivery (application/use_cases/deliver_notifications.py).
TICKET_CID = "ticket-qr@eventapi"


class MailComposer:
    """Builds the message for one notification; sending is someone else's job.

    `sender` is the From header (`Name <address>`); `public_url` is where the
    API is reached, for links to events.
    """

    def __init__(self, *, sender: str, public_url: str, site_name: str = "eventapi") -> None:
        self.sender = sender
        self.public_url = public_url.rstrip("/")
        self.site_name = site_name
        self._environment = Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=select_autoescape(enabled_extensions=("html",), default=False),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )

    @property
    def sender_address(self) -> str:
        return parseaddr(self.sender)[1]

    def compose(
        self,
        notification: Notification,
        *,
        recipient: Recipient,
        event: EventView | None,
        message_id: str,
        now: datetime,
    ) -> EmailMessage:
        context = self._context(notification, recipient, event)
        kind = notification.kind.value
        environment = self._environment
        subjects = environment.get_template("subjects.txt").make_module(context)
        subject = " ".join(str(getattr(subjects, kind)()).split())

        message = EmailMessage(policy=SMTP)
        message["Subject"] = subject
        message["From"] = self.sender
        message["To"] = recipient_address(recipient)
        message["Date"] = format_datetime(now)
        message["Message-ID"] = message_id
        message["Auto-Submitted"] = "auto-generated"
        message["X-Eventapi-Notification"] = kind
        message.set_content(environment.get_template(f"{kind}.txt").render(context))
        message.add_alternative(
            environment.get_template(f"{kind}.html").render(context), subtype="html"
        )
        ticket = context["ticket"]
        if ticket is not None:
            html = message.get_body(preferencelist=("html",))
            assert isinstance(html, MIMEPart), "the HTML part was added just above"
            html.add_related(
                ticket_qr_png(ticket["code"]),
                maintype="image",
                subtype="png",
                cid=f"<{TICKET_CID}>",
                filename="ticket.png",
                disposition="inline",
            )
        invite = self._invite(notification, recipient, event, now)
        if invite is not None:
            method, body = invite
            message.add_attachment(
                body,
                maintype="text",
                subtype="calendar",
                filename="invite.ics",
                params={"method": method, "charset": "utf-8"},
            )
        return message

    def _invite(
        self,
        notification: Notification,
        recipient: Recipient,
        event: EventView | None,
        now: datetime,
    ) -> tuple[str, bytes] | None:
        method = INVITE_METHODS.get(notification.kind)
        if method is None or notification.event_id is None:
            return None
        attendee = (recipient.full_name, recipient.email)
        if event is None:
            if notification.kind is not Kind.EVENT_DELETED:
                return None
            body = deleted_event_calendar(
                notification.event_id,
                title=notification.details.get("title", ""),
                sequence=_whole(notification.details.get("sequence")),
                now=now,
                organizer=self.sender_address,
                attendee=attendee,
            )
            return "CANCEL", body
        organizer_copy = notification.kind in (Kind.EVENT_CREATED, Kind.EVENT_PUBLISHED)
        body = event_calendar(
            event,
            url=self.event_url(event.id),
            now=now,
            method=method,
            organizer=self.sender_address,
            attendee=None if organizer_copy else attendee,
        )
        return ("CANCEL" if b"METHOD:CANCEL" in body else method), body

    def event_url(self, event_id: UUID) -> str:
        return f"{self.public_url}/api/v1/events/{event_id}"

    def _context(
        self, notification: Notification, recipient: Recipient, event: EventView | None
    ) -> dict[str, Any]:
        details = notification.details
        return {
            "site_name": self.site_name,
            "public_url": self.public_url,
            "recipient": {"name": recipient.full_name, "email": recipient.email},
            "event": None if event is None else self._event(event),
            "title": event.title if event is not None else details.get("title", ""),
            "removed_by_organizer": details.get("removed_by_organizer") == "true",
            "time_changed": details.get("time_changed") == "true",
            "place_changed": details.get("place_changed") == "true",
            "reason": details.get("reason", ""),
            "link": self._token_link(notification),
            "ticket": _ticket(notification),
            "webhook": {
                "id": details.get("webhook_id", ""),
                "url": details.get("url", ""),
                "failing_since": details.get("failing_since", ""),
            },
        }

    def _token_link(self, notification: Notification) -> dict[str, str] | None:
        """The single-use link of a reset or verification mail (the welcome mail
        carries the first verification link), or None.

        The link is `EVENTAPI_PUBLIC_URL/reset-password#token=...` (or
        `/verify-email#token=...`) for the front end served there: the token
        travels in the fragment, which browsers never send to a server, so it
        does not end up in access logs or Referer headers. The mail also shows the
        token itself and the API call that redeems it."""
        token = notification.details.get("token")
        if not token:
            return None
        page = "reset-password" if notification.kind is Kind.PASSWORD_RESET else "verify-email"
        try:
            expires = datetime.fromisoformat(notification.details.get("expires_at", ""))
        except ValueError:
            expires_text = ""
        else:
            expires_text = (
                f"{expires.astimezone(UTC):%a} {expires.astimezone(UTC):%d %b %Y %H:%M} UTC"
            )
        return {
            "url": f"{self.public_url}/{page}#token={token}",
            "token": token,
            "expires": expires_text,
        }

    def _event(self, event: EventView) -> dict[str, Any]:
        place = event.location
        description = html_to_text(event.description)
        if len(description) > DESCRIPTION_EXCERPT:
            description = description[: DESCRIPTION_EXCERPT - 1].rstrip() + "…"
        return {
            "title": event.title,
            "when": when(event.starts_at, event.ends_at, event.timezone),
            "where": ", ".join(
                part
                for part in (place.venue, place.address, place.city, country_name(place.country))
                if part
            ),
            "description": description,
            "organizer": event.organizer.full_name,
            "status": event.status.value,
            "url": self.event_url(event.id),
        }


def recipient_address(recipient: Recipient) -> Address:
    """The `To:` mailbox: the account's address, with its name as a plain phrase.

    Python's header folder drops the quotes around a display name it has to fold
    (CPython 3.11), so a long name such as `Events Team <events@example.org>, Security
    Desk <attacker@evil.example>, and` became three recipients. A name without the
    characters that need quoting (RFC 5322 specials and line breaks), and without
    `=?` (a client would decode `=?utf-8?q?a=40b=2C?=` as `a@b,`), stays one phrase
    however it is folded; the library RFC 2047-encodes what is not ASCII.
    """
    phrase = " ".join(_SPECIALS.sub(" ", recipient.full_name).split())
    return Address(phrase, addr_spec=recipient.email)


_SPECIALS = re.compile(r'[()<>\[\].:;@\\,"\x00-\x1f\x7f-\x9f]|=\?')


def when(starts_at: datetime, ends_at: datetime, timezone: str) -> str:
    """'Tue 3 Mar 2031, 18:00 to 20:00 (Europe/Berlin)', in the event's own zone
    (with an en dash in place of "to")."""
    zone = ZoneInfo(timezone)
    start, end = starts_at.astimezone(zone), ends_at.astimezone(zone)
    day = f"{start:%a} {start.day} {start:%b %Y}"
    if start.date() == end.date():
        return f"{day}, {start:%H:%M}{EN_DASH}{end:%H:%M} ({timezone})"
    return f"{day} {start:%H:%M} {EN_DASH} {end:%a} {end.day} {end:%b %Y} {end:%H:%M} ({timezone})"


def _ticket(notification: Notification) -> dict[str, str] | None:
    code = notification.details.get("ticket_code", "")
    if notification.kind not in TICKET_KINDS or not code:
        return None
    return {"code": code, "cid": TICKET_CID}


def _whole(text: str | None) -> int:
    try:
        return max(0, int(text or 0))
    except ValueError:
        return 0
